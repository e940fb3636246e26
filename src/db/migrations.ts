// Schema migrations, applied in order by `tally migrate` (as the schema owner, TALLY_PG_ADMIN_URL).
// Append new migrations; never edit an applied one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'surveys',
    sql: `
      CREATE TABLE surveys (
        id          bigserial PRIMARY KEY,
        title       text NOT NULL,
        shards      integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 1024),
        status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'finished')),
        start_date  timestamptz,
        finish_date timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE questions (
        id        bigserial PRIMARY KEY,
        survey_id bigint NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
        title     text NOT NULL,
        min       integer NOT NULL DEFAULT 1 CHECK (min >= 0),
        max       integer NOT NULL DEFAULT 1 CHECK (max >= 1),
        ord       integer NOT NULL DEFAULT 0,
        CHECK (min <= max)
      );
      CREATE INDEX questions_survey ON questions(survey_id);
      CREATE TABLE options (
        id          bigserial PRIMARY KEY,
        question_id bigint NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
        text        text NOT NULL,
        image       text,
        ord         integer NOT NULL DEFAULT 0
      );
      CREATE INDEX options_question ON options(question_id);
    `,
  },
  {
    version: 2,
    name: 'audit_checkpoints (append-only)',
    sql: `
      CREATE TABLE audit_checkpoints (
        id             bigserial PRIMARY KEY,
        topic          text NOT NULL,
        partition      integer NOT NULL,
        first_offset   bigint NOT NULL,
        last_offset    bigint NOT NULL,
        records        bigint NOT NULL,
        chain_head     text NOT NULL,
        tallies_digest text NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (topic, partition, last_offset)
      );
      CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_checkpoints is append-only: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$;
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
        FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
      CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
    `,
  },
  {
    version: 3,
    name: 'survey_answers (one-answer-per-request sessions of ingest)',
    sql: `
      CREATE TABLE survey_answers (
        id          bigserial PRIMARY KEY,
        survey_id   bigint NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
        voter_id    text NOT NULL,
        initialized timestamptz NOT NULL DEFAULT now(),
        finished    timestamptz
      );
      CREATE INDEX survey_answers_survey ON survey_answers(survey_id);
    `,
  },
  {
    version: 4,
    name: 'surveys.regions (the regions a vote may name, declared per survey)',
    sql: `
      ALTER TABLE surveys ADD COLUMN regions text[] NOT NULL DEFAULT '{}';
    `,
  },
  {
    version: 5,
    name: 'audit_checkpoints.merkle_root (RFC 6962 root of the records a checkpoint covers)',
    // Nullable: rows written before this migration have no root. Adding a column is no UPDATE, so
    // the append-only triggers stay as they are.
    sql: `ALTER TABLE audit_checkpoints ADD COLUMN merkle_root text;`,
  },
  {
    version: 6,
    name: 'topic_partitions (the partition count each votes topic was first run with)',
    sql: `
      CREATE TABLE topic_partitions (
        topic       text PRIMARY KEY,
        partitions  integer NOT NULL CHECK (partitions > 0),
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];

/** Privileges of the application role, re-applied after every migration run. */
export const appRoleGrants = (appRole: string): string => `
  GRANT USAGE ON SCHEMA public TO ${appRole};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${appRole};
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${appRole};
  REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM ${appRole};
  REVOKE ALL ON schema_migrations FROM ${appRole};
`;
