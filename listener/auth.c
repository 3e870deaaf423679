/*
 * auth.c
 *	  Judging a datagram's signature and freshness (see auth.h).
 *
 * The tag is PostgreSQL's HMAC (common/hmac.h, OpenSSL's in our builds)
 * over every byte before it, truncated to the tag's length.  One HMAC
 * context serves the process's life, keyed again for each datagram: with
 * OpenSSL, pg_hmac_create() registers the context with the current resource
 * owner, which a background worker outside a transaction does not have, so
 * the checker brings one of its own.
 */
#include "postgres.h"

#include "common/hmac.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "counters.h"
#include "decode.h"
#include "ingest_keys.h"
#include "replay.h"

struct AuthChecker
{
	pg_hmac_ctx *hmac;
	uint64		keys_version;	/* 0: no keys published yet */
	IngestKeySet keys;
	bool		hmac_failure_logged;
	ReplayTable replay;
};

AuthChecker *
AuthCheckerCreate(void)
{
	static ResourceOwner owner = NULL;
	ResourceOwner saved = CurrentResourceOwner;
	AuthChecker *checker;
	uint64		salt;

	checker = MemoryContextAllocZero(TopMemoryContext, sizeof(AuthChecker));
	if (owner == NULL)
		owner = ResourceOwnerCreate(NULL, "pg_mnemic auth");
	CurrentResourceOwner = owner;
	checker->hmac = pg_hmac_create(PG_SHA256);
	CurrentResourceOwner = saved;
	if (checker->hmac == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));

	if (!pg_strong_random(&salt, sizeof(salt)))
		salt = (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32);
	replay_init(&checker->replay, salt);
	return checker;
}

void
AuthCheckerRefresh(AuthChecker *checker)
{
	(void) IngestKeysCopy(&checker->keys, &checker->keys_version);
}

/* Equal in time that does not depend on where the bytes differ. */
static bool
tags_equal(const uint8 *a, const uint8 *b, size_t len)
{
	volatile uint8 diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static bool
tag_verifies(AuthChecker *checker, const IngestKey *key, const uint8 *bytes,
			 const DgSignatureInfo *info)
{
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	bool		ok;

	if (pg_hmac_init(checker->hmac, key->secret, key->len) < 0 ||
		pg_hmac_update(checker->hmac, bytes, info->signed_len) < 0 ||
		pg_hmac_final(checker->hmac, mac, sizeof(mac)) < 0)
	{
		/* Cannot happen short of a broken library: say so once, drop. */
		if (!checker->hmac_failure_logged)
			ereport(LOG,
					(errmsg("pg_mnemic: could not compute an HMAC: %s",
							pg_hmac_error(checker->hmac))));
		checker->hmac_failure_logged = true;
		return false;
	}
	ok = tags_equal(mac, info->tag, info->tag_len);
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

/* A datagram signed with key_id was taken: for mnemic.ingest_key_usage(). */
static void
count_key_use(uint8 key_id, TimestampTz now)
{
	if (listener_counters == NULL)
		return;
	pg_atomic_fetch_add_u64(&listener_counters->key_datagrams[key_id], 1);
	pg_atomic_write_u64(&listener_counters->key_last_used[key_id], (uint64) now);
}

AuthVerdict
AuthJudge(AuthChecker *checker, int mode, const uint8 *bytes, size_t len,
		  TimestampTz now)
{
	DgSignature sig;
	DgSignatureInfo info;
	const IngestKey *key;

	if (mode == LISTENER_AUTH_OFF)
		return AUTH_PASS;

	sig = dg_read_signature(bytes, len, &info);
	switch (sig)
	{
		case DG_SIG_NOT_V1:
			/* the decoder judges it, or drops it as malformed */
			return mode == LISTENER_AUTH_REQUIRE ? AUTH_UNSIGNED : AUTH_PASS;
		case DG_SIG_UNSIGNED:
			if (mode == LISTENER_AUTH_REQUIRE)
				return AUTH_UNSIGNED;
			break;
		case DG_SIG_BAD_TRAILER:
			return AUTH_BAD_TAG;
		case DG_SIG_SIGNED:
			if (checker->keys_version == 0)
				return AUTH_UNCHECKED;
			key = &checker->keys.keys[info.key_id];
			if (key->len == 0)
				return AUTH_UNKNOWN_KEY;
			if (!tag_verifies(checker, key, bytes, &info))
				return AUTH_BAD_TAG;
			break;
	}
	if (!replay_accept(&checker->replay, info.run, info.seq))
		return AUTH_REPLAYED;
	if (sig == DG_SIG_SIGNED)
		count_key_use(info.key_id, now);
	return AUTH_PASS;
}

void
AuthCountDrop(AuthVerdict verdict)
{
	switch (verdict)
	{
		case AUTH_BAD_TAG:
			CountersAdd(&listener_counters->auth_bad, 1);
			break;
		case AUTH_UNKNOWN_KEY:
			CountersAdd(&listener_counters->auth_unknown_key, 1);
			break;
		case AUTH_UNSIGNED:
			CountersAdd(&listener_counters->auth_unsigned, 1);
			break;
		case AUTH_REPLAYED:
			CountersAdd(&listener_counters->auth_replayed, 1);
			break;
		case AUTH_PASS:
		case AUTH_UNCHECKED:
			break;
	}
}
