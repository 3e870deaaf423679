# PostgreSQL 15 with pg_mnemic, built the way CI builds it.
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make extension && make install
COPY docker/db-entrypoint.sh /usr/local/bin/mnemic-db
ENV PGDATA=/var/lib/postgresql/mnemic PATH=/usr/lib/postgresql/15/bin:$PATH
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA"
USER postgres
EXPOSE 5432 12013/udp
ENTRYPOINT ["/usr/local/bin/mnemic-db"]
