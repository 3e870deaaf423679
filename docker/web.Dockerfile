# mnemic-web and its UI, built the way CI builds them.
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make web
RUN useradd --system --no-create-home mnemic
USER mnemic
EXPOSE 12111
# Inside a container the server must listen beyond loopback.
CMD ["/src/web/mnemic-web", "--listen", "0.0.0.0", "--static", "/src/web/static"]
