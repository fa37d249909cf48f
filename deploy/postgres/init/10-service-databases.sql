-- Each service owns its database and never reads another's.
-- POSTGRES_DB creates dispatch's; this creates the others, on first start of an
-- empty data volume only (docker-entrypoint-initdb.d).
CREATE DATABASE notify;
CREATE DATABASE reporting;
