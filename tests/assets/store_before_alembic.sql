-- A state store as tunesmith made it before Alembic (metadata.create_all, then nullable
-- columns added by hand), with one row per table; dumped with sqlite3 iterdump. Kept to test
-- that opening such a store with the Alembic migrations keeps its rows.
BEGIN TRANSACTION;
CREATE TABLE api_keys (
	id INTEGER NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	secret_sha256 VARCHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	models JSON NOT NULL, 
	roles JSON NOT NULL, 
	rate_per_minute INTEGER, 
	created_at VARCHAR(32) NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	revoked_at VARCHAR(32), 
	PRIMARY KEY (id), 
	UNIQUE (name), 
	UNIQUE (secret_sha256)
);
INSERT INTO "api_keys" VALUES(1,'app','0000000000000000000000000000000000000000000000000000000000000000','ts-abc','["*"]','["infer"]',NULL,'2025-01-01T00:00:00Z','admin',NULL);
CREATE TABLE choice_items (
	id INTEGER NOT NULL, 
	pair_key VARCHAR(64) NOT NULL, 
	prompt JSON NOT NULL, 
	answer_a TEXT NOT NULL, 
	answer_b TEXT NOT NULL, 
	source VARCHAR(1024) NOT NULL, 
	model VARCHAR(256), 
	run_id VARCHAR(128), 
	ai_pick VARCHAR(1), 
	enqueued_at VARCHAR(32) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	claimed_by VARCHAR(128), 
	claim_expires VARCHAR(32), 
	choice VARCHAR(8), 
	note TEXT, 
	decided_by VARCHAR(128), 
	decided_at VARCHAR(32), 
	PRIMARY KEY (id), 
	UNIQUE (pair_key)
);
INSERT INTO "choice_items" VALUES(1,'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff','[{"role": "user", "content": "hi"}]','a','b','preferences/x/pairs.jsonl:1','m','run-a','a','2025-01-01T00:00:00Z','open',NULL,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE interactions (
	id VARCHAR(40) NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	key_name VARCHAR(128) NOT NULL, 
	model VARCHAR(256) NOT NULL, 
	run_id VARCHAR(128), 
	registry_name VARCHAR(128), 
	registry_version INTEGER, 
	messages JSON NOT NULL, 
	choices JSON NOT NULL, 
	finish_reason VARCHAR(32) NOT NULL, 
	prompt_tokens INTEGER NOT NULL, 
	completion_tokens INTEGER NOT NULL, 
	latency_ms FLOAT NOT NULL, 
	ttft_ms FLOAT, 
	mean_logprob FLOAT, 
	label VARCHAR(128), 
	label_margin FLOAT, 
	pii_masked BOOLEAN NOT NULL, 
	stream BOOLEAN NOT NULL, 
	flags JSON, 
	PRIMARY KEY (id)
);
INSERT INTO "interactions" VALUES('i-1','2025-01-01T00:00:00.000Z','app','support-router@champion','run-a','support-router',1,'[{"role": "user", "content": "My invoice is wrong"}]','[{"text": "Queue: billing\n\nHi", "finish_reason": "stop", "tool_calls": null}]','stop',10,5,100.0,20.0,-0.5,'billing',0.9,1,0,'[]');
CREATE TABLE ratings (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR(40) NOT NULL, 
	key_name VARCHAR(128) NOT NULL, 
	rating VARCHAR(8) NOT NULL, 
	comment TEXT, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "ratings" VALUES(1,'i-1','app','down',NULL,'2025-01-01T00:01:00Z');
CREATE TABLE review_items (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR(40) NOT NULL, 
	model VARCHAR(256) NOT NULL, 
	reasons JSON NOT NULL, 
	priority FLOAT NOT NULL, 
	enqueued_at VARCHAR(32) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	claimed_by VARCHAR(128), 
	claim_expires VARCHAR(32), 
	decision VARCHAR(16), 
	correction TEXT, 
	note TEXT, 
	decided_by VARCHAR(128), 
	decided_at VARCHAR(32), 
	PRIMARY KEY (id), 
	UNIQUE (interaction_id)
);
INSERT INTO "review_items" VALUES(1,'i-1','support-router@champion','["thumbs_down"]',0.9,'2025-01-01T00:02:00Z','done',NULL,NULL,'accept',NULL,NULL,'alice','2025-01-01T00:03:00Z');
CREATE INDEX ix_interactions_model ON interactions (model);
CREATE INDEX ix_interactions_created_at ON interactions (created_at);
CREATE INDEX ix_ratings_interaction_id ON ratings (interaction_id);
CREATE INDEX ix_review_items_status ON review_items (status);
CREATE INDEX ix_choice_items_status ON choice_items (status);
COMMIT;
