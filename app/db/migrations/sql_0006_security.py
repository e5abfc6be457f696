"""SQL of migration 0006 (security). Frozen with that migration: do not edit.

The audit functions use qualified names only: as SECURITY DEFINER functions they run with
`search_path = pg_catalog, pg_temp`. The `*_0001` texts are 0001's definitions, which the
downgrade restores.
"""

# --- audit functions: qualified names only (they run with search_path = pg_catalog, pg_temp)
LOG_CHANGE = r"""
CREATE OR REPLACE FUNCTION audit.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  secrets boolean := TG_TABLE_NAME IN ('users', 'api_tokens');
  old_j jsonb;
  new_j jsonb := to_jsonb(NEW);
  act text := TG_OP;
  -- the role the change was made as (SET ROLE), else the login role: current_user would be
  -- this function's owner
  invoker text := current_setting('role');
BEGIN
  IF secrets THEN
    new_j := audit.redact(new_j);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    old_j := to_jsonb(OLD);
    IF secrets THEN
      old_j := audit.redact(old_j);
    END IF;
    IF (old_j - 'last_used_at') = (new_j - 'last_used_at') THEN
      RETURN NULL;  -- nothing but token bookkeeping changed
    END IF;
    IF old_j->>'voided_at' IS NULL AND new_j->>'voided_at' IS NOT NULL THEN
      act := 'VOID';
    END IF;
  END IF;
  INSERT INTO public.audit_log (table_name, record_id, participant_id, action, old_values,
                                new_values, actor_user_id, actor_role, actor_site, request_id,
                                reason, db_user)
  VALUES (TG_TABLE_NAME, new_j->>'id',
          COALESCE(new_j->>'participant_id',
                   CASE WHEN TG_TABLE_NAME = 'participants' THEN new_j->>'id' END),
          act, old_j, new_j,
          NULLIF(current_setting('trial.user_id', true), ''),
          NULLIF(current_setting('trial.role', true), ''),
          NULLIF(current_setting('trial.site', true), ''),
          NULLIF(current_setting('trial.request_id', true), ''),
          NULLIF(current_setting('trial.reason', true), ''),
          CASE WHEN invoker = 'none' THEN session_user ELSE invoker END);
  RETURN NULL;
END $$"""

CHAIN_LINK = r"""
CREATE OR REPLACE FUNCTION audit.chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  k integer := (NEW.txid % audit.chain_count())::integer;
  head record;
  prev bytea;
  next_seq bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(724500, k);
  SELECT seq, hash INTO head FROM public.audit_chain WHERE chain = k ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    prev := audit.genesis(k);
    next_seq := 1;
  ELSE
    prev := head.hash;
    next_seq := head.seq + 1;
  END IF;
  -- link_no: a global order of linking across the 16 chains, for anchors
  INSERT INTO public.audit_chain (chain, seq, audit_id, prev_hash, hash, link_no)
  VALUES (k, next_seq, NEW.id, prev, audit.row_digest(prev, NEW), nextval('audit.link_seq'));
  RETURN NULL;
END $$"""

VERIFY_CHAIN = r"""
CREATE FUNCTION audit.verify_chain(OUT valid boolean, OUT checked bigint,
                                   OUT first_invalid bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur integer := -1;
  prev bytea;
  expected bigint;
  broken boolean := false;
  r record;
BEGIN
  valid := true;
  checked := 0;
  FOR r IN
    SELECT c.chain, c.seq, c.audit_id, c.prev_hash, c.hash, a AS row, a.id AS row_id
    FROM public.audit_chain c LEFT JOIN public.audit_log a ON a.id = c.audit_id
    ORDER BY c.chain, c.seq
  LOOP
    IF r.chain <> cur THEN
      cur := r.chain;
      prev := audit.genesis(cur);
      expected := 1;
      broken := false;
    END IF;
    CONTINUE WHEN broken;  -- the rest of a broken chain cannot be trusted either
    IF r.seq <> expected OR r.prev_hash <> prev OR r.row_id IS NULL
       OR audit.row_digest(prev, r.row) <> r.hash THEN
      valid := false;
      broken := true;
      first_invalid := LEAST(COALESCE(first_invalid, r.audit_id), r.audit_id);
      CONTINUE;
    END IF;
    prev := r.hash;
    expected := expected + 1;
    checked := checked + 1;
  END LOOP;
  SELECT LEAST(first_invalid, min(a.id)) INTO first_invalid FROM public.audit_log a
  WHERE NOT EXISTS (SELECT 1 FROM public.audit_chain c WHERE c.audit_id = a.id);
  IF first_invalid IS NOT NULL THEN
    valid := false;
  END IF;
END $$"""

# The anchor at audit row A: L = the link number of A's link; for each chain k = 0..15 the
# hash of its newest link numbered <= L (links made before this migration have no number and
# come first), or genesis(k) when it has none; anchor = hex(sha256(h_0 || ... || h_15)).
ANCHOR_AT = r"""
CREATE FUNCTION audit.anchor_at(anchor_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  l bigint;
  h bytea;
  heads bytea := ''::bytea;
BEGIN
  SELECT link_no INTO l FROM public.audit_chain WHERE audit_id = anchor_id;
  IF l IS NULL THEN
    RETURN NULL;  -- not linked, or linked before anchors existed: not an anchor point
  END IF;
  FOR k IN 0 .. audit.chain_count() - 1 LOOP
    SELECT c.hash INTO h FROM public.audit_chain c
    WHERE c.chain = k AND c.link_no <= l ORDER BY c.link_no DESC LIMIT 1;
    IF NOT FOUND THEN
      SELECT c.hash INTO h FROM public.audit_chain c
      WHERE c.chain = k AND c.link_no IS NULL ORDER BY c.seq DESC LIMIT 1;
      IF NOT FOUND THEN
        h := audit.genesis(k);
      END IF;
    END IF;
    heads := heads || h;
  END LOOP;
  RETURN encode(sha256(heads), 'hex');
END $$"""

# Link numbers are drawn while the chain's lock is held, and that lock is released at commit.
# Taking every chain's lock (shared, until this transaction ends) waits for the links being
# made right now; after that every drawn number belongs to a finished transaction, so the
# newest visible number names a state of all chains that can never change.
CURRENT_ANCHOR = r"""
CREATE FUNCTION audit.current_anchor(OUT anchor_id bigint, OUT anchor_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  FOR k IN 0 .. audit.chain_count() - 1 LOOP
    PERFORM pg_advisory_xact_lock_shared(724500, k);
  END LOOP;
  SELECT c.audit_id INTO anchor_id FROM public.audit_chain c
  WHERE c.link_no IS NOT NULL ORDER BY c.link_no DESC LIMIT 1;
  IF anchor_id IS NOT NULL THEN
    anchor_hash := audit.anchor_at(anchor_id);
  END IF;
END $$"""

TRAIL_VIEW = """
CREATE VIEW audit.trail AS
SELECT id, occurred_at, txid, actor_user_id, actor_role, actor_site, request_id, reason,
       db_user, table_name, record_id, participant_id, action, old_values, new_values
FROM public.audit_log"""

STUDY_ID = r"""
CREATE OR REPLACE FUNCTION participant_study_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF NEW.study_id IS NULL THEN
    -- one counter row per site: numbers are per site, gapless, and the row lock orders
    -- concurrent enrolments at one site (other sites never wait)
    INSERT INTO study_id_counters AS c (site_id, last_number) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number INTO n;
    -- at least 4 digits, never truncated (lpad alone would cut 10000 to 1000)
    NEW.study_id := (SELECT code FROM sites WHERE id = NEW.site_id) || '-'
                    || lpad(n::text, greatest(4, length(n::text)), '0');
  END IF;
  RETURN NEW;
END $$"""

SEED_COUNTERS = """
INSERT INTO study_id_counters (site_id, last_number)
SELECT p.site_id, max(substring(p.study_id FROM length(s.code) + 2)::integer)
FROM participants p JOIN sites s ON s.id = p.site_id
WHERE left(p.study_id, length(s.code) + 1) = s.code || '-'
  AND substring(p.study_id FROM length(s.code) + 2) ~ '^[0-9]{1,9}$'
GROUP BY p.site_id"""


# --- downgrade: 0001's functions as they were, owned by the migrating role ------------------
LOG_CHANGE_0001 = r"""
CREATE OR REPLACE FUNCTION audit.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  secrets boolean := TG_TABLE_NAME IN ('users', 'api_tokens');
  old_j jsonb;
  new_j jsonb := to_jsonb(NEW);
  act text := TG_OP;
BEGIN
  IF secrets THEN
    new_j := audit.redact(new_j);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    old_j := to_jsonb(OLD);
    IF secrets THEN
      old_j := audit.redact(old_j);
    END IF;
    IF (old_j - 'last_used_at') = (new_j - 'last_used_at') THEN
      RETURN NULL;  -- nothing but token bookkeeping changed
    END IF;
    IF old_j->>'voided_at' IS NULL AND new_j->>'voided_at' IS NOT NULL THEN
      act := 'VOID';
    END IF;
  END IF;
  INSERT INTO audit_log (table_name, record_id, participant_id, action, old_values, new_values,
                         actor_user_id, actor_role, actor_site, request_id, reason)
  VALUES (TG_TABLE_NAME, new_j->>'id',
          COALESCE(new_j->>'participant_id',
                   CASE WHEN TG_TABLE_NAME = 'participants' THEN new_j->>'id' END),
          act, old_j, new_j,
          NULLIF(current_setting('trial.user_id', true), ''),
          NULLIF(current_setting('trial.role', true), ''),
          NULLIF(current_setting('trial.site', true), ''),
          NULLIF(current_setting('trial.request_id', true), ''),
          NULLIF(current_setting('trial.reason', true), ''));
  RETURN NULL;
END $$"""

CHAIN_LINK_0001 = r"""
CREATE OR REPLACE FUNCTION audit.chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  k integer := (NEW.txid % audit.chain_count())::integer;
  head record;
  prev bytea;
  next_seq bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(724500, k);
  SELECT seq, hash INTO head FROM audit_chain WHERE chain = k ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    prev := audit.genesis(k);
    next_seq := 1;
  ELSE
    prev := head.hash;
    next_seq := head.seq + 1;
  END IF;
  INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, hash)
  VALUES (k, next_seq, NEW.id, prev, audit.row_digest(prev, NEW));
  RETURN NULL;
END $$"""

VERIFY_CHAIN_0001 = r"""
CREATE FUNCTION audit.verify_chain(OUT valid boolean, OUT checked bigint,
                                   OUT first_invalid bigint, OUT head_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur integer := -1;
  prev bytea;
  expected bigint;
  broken boolean := false;
  heads bytea := ''::bytea;
  r record;
BEGIN
  valid := true;
  checked := 0;
  FOR r IN
    SELECT c.chain, c.seq, c.audit_id, c.prev_hash, c.hash, a AS row, a.id AS row_id
    FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
    ORDER BY c.chain, c.seq
  LOOP
    IF r.chain <> cur THEN
      IF cur >= 0 THEN heads := heads || prev; END IF;
      cur := r.chain;
      prev := audit.genesis(cur);
      expected := 1;
      broken := false;
    END IF;
    CONTINUE WHEN broken;  -- the rest of a broken chain cannot be trusted either
    IF r.seq <> expected OR r.prev_hash <> prev OR r.row_id IS NULL
       OR audit.row_digest(prev, r.row) <> r.hash THEN
      valid := false;
      broken := true;
      first_invalid := LEAST(COALESCE(first_invalid, r.audit_id), r.audit_id);
      CONTINUE;
    END IF;
    prev := r.hash;
    expected := expected + 1;
    checked := checked + 1;
  END LOOP;
  IF cur >= 0 AND NOT broken THEN heads := heads || prev; END IF;
  IF valid THEN
    head_hash := encode(sha256(heads), 'hex');
  END IF;
  SELECT LEAST(first_invalid, min(a.id)) INTO first_invalid FROM audit_log a
  WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id);
  IF first_invalid IS NOT NULL THEN
    valid := false;
    head_hash := NULL;
  END IF;
END $$"""

STUDY_ID_0001 = r"""
CREATE OR REPLACE FUNCTION participant_study_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n text;
BEGIN
  IF NEW.study_id IS NULL THEN
    n := nextval('participant_number_seq')::text;
    -- at least 4 digits, never truncated (lpad alone would cut 10000 to 1000)
    NEW.study_id := (SELECT code FROM sites WHERE id = NEW.site_id) || '-'
                    || lpad(n::text, greatest(4, length(n)), '0');
  END IF;
  RETURN NEW;
END $$"""
