-- Roles and databases of the local stack (idempotent; run as the PostgreSQL superuser by
-- stack/stack.sh, and by the postgres container in compose.yaml).
-- tally_admin owns the tally schema and runs migrations; tally_app is what the roles connect as
-- (no UPDATE/DELETE on audit_checkpoints); apicurio owns the schema registry's storage.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally_admin') THEN
    CREATE ROLE tally_admin LOGIN PASSWORD 'tally_admin';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally_app') THEN
    CREATE ROLE tally_app LOGIN PASSWORD 'tally_app';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apicurio') THEN
    CREATE ROLE apicurio LOGIN PASSWORD 'apicurio';
  END IF;
END $$;
SELECT 'CREATE DATABASE tally OWNER tally_admin' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tally')
\gexec
SELECT 'CREATE DATABASE apicurio OWNER apicurio' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'apicurio')
\gexec
\c tally
GRANT CONNECT ON DATABASE tally TO tally_app;
GRANT USAGE ON SCHEMA public TO tally_app;
