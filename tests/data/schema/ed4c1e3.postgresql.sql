CREATE TABLE login_failures (
	id SERIAL NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	address VARCHAR(64) NOT NULL, 
	time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_login_failures_address ON login_failures (address);

CREATE INDEX ix_login_failures_email ON login_failures (email);

CREATE INDEX ix_login_failures_time ON login_failures (time);

CREATE TABLE users (
	id SERIAL NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	password_hash VARCHAR(256) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	is_approved BOOLEAN NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_users_email ON users (email);

CREATE TABLE forecast_systems (
	id SERIAL NOT NULL, 
	owner_id INTEGER NOT NULL, 
	name VARCHAR(120) NOT NULL, 
	region_kind VARCHAR(16), 
	bbox_west FLOAT, 
	bbox_south FLOAT, 
	bbox_east FLOAT, 
	bbox_north FLOAT, 
	mesh_path VARCHAR(1024), 
	data_dir VARCHAR(1024), 
	config_toml TEXT NOT NULL, 
	settings JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	run_hour_utc INTEGER NOT NULL, 
	horizon_hours INTEGER NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_forecast_systems_owner_id ON forecast_systems (owner_id);

CREATE TABLE cycles (
	id SERIAL NOT NULL, 
	system_id INTEGER NOT NULL, 
	cycle_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	progress FLOAT NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	started TIMESTAMP WITHOUT TIME ZONE, 
	finished TIMESTAMP WITHOUT TIME ZONE, 
	run_dir VARCHAR(1024), 
	log TEXT NOT NULL, 
	error TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_cycle_system_time UNIQUE (system_id, cycle_time), 
	FOREIGN KEY(system_id) REFERENCES forecast_systems (id) ON DELETE CASCADE
);

CREATE INDEX ix_cycles_system_id ON cycles (system_id);

CREATE TABLE stations (
	id SERIAL NOT NULL, 
	system_id INTEGER NOT NULL, 
	name VARCHAR(80) NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(system_id) REFERENCES forecast_systems (id) ON DELETE CASCADE
);

CREATE INDEX ix_stations_system_id ON stations (system_id);

CREATE TABLE cycle_leases (
	cycle_id INTEGER NOT NULL, 
	owner VARCHAR(200) NOT NULL, 
	heartbeat TIMESTAMP WITHOUT TIME ZONE, 
	resumes INTEGER NOT NULL, 
	attempts JSON NOT NULL, 
	PRIMARY KEY (cycle_id), 
	FOREIGN KEY(cycle_id) REFERENCES cycles (id) ON DELETE CASCADE
);
