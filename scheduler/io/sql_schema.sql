-- The tables of scheduler.io.sql (sqlite), from scheduler.io.sql.schema_sql().

CREATE TABLE jobs (
	plant_id VARCHAR(200) NOT NULL,
	job_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	release BIGINT NOT NULL,
	due BIGINT,
	deadline BIGINT,
	weight DOUBLE NOT NULL,
	PRIMARY KEY (plant_id, job_id)
);

CREATE TABLE machines (
	plant_id VARCHAR(200) NOT NULL,
	machine_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	idle_power_kw DOUBLE NOT NULL,
	PRIMARY KEY (plant_id, machine_id)
);

CREATE TABLE mode_resources (
	plant_id VARCHAR(200) NOT NULL,
	operation_id VARCHAR(200) NOT NULL,
	mode_position INTEGER NOT NULL,
	resource_id VARCHAR(200) NOT NULL,
	amount BIGINT NOT NULL,
	PRIMARY KEY (plant_id, operation_id, mode_position, resource_id)
);

CREATE TABLE modes (
	plant_id VARCHAR(200) NOT NULL,
	operation_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	machine_id VARCHAR(200) NOT NULL,
	duration BIGINT NOT NULL,
	power_kw DOUBLE NOT NULL,
	PRIMARY KEY (plant_id, operation_id, position)
);

CREATE TABLE operations (
	plant_id VARCHAR(200) NOT NULL,
	operation_id VARCHAR(200) NOT NULL,
	job_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	family VARCHAR(200),
	names_predecessors BOOLEAN NOT NULL,
	release BIGINT NOT NULL,
	deadline BIGINT,
	PRIMARY KEY (plant_id, operation_id)
);

CREATE TABLE planned_operations (
	plan_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	job_id VARCHAR(200) NOT NULL,
	operation_id VARCHAR(200) NOT NULL,
	machine_id VARCHAR(200) NOT NULL,
	mode INTEGER NOT NULL,
	start_tick BIGINT NOT NULL,
	end_tick BIGINT NOT NULL,
	energy_kwh DOUBLE NOT NULL,
	energy_cost DOUBLE NOT NULL,
	carbon_kg DOUBLE NOT NULL,
	start_time TEXT,
	end_time TEXT,
	PRIMARY KEY (plan_id, position)
);

CREATE TABLE plans (
	plan_id VARCHAR(200) NOT NULL,
	plant_id VARCHAR(200),
	created_at TEXT NOT NULL,
	status VARCHAR(20),
	solver VARCHAR(200),
	objective DOUBLE,
	bound DOUBLE,
	wall_time_s DOUBLE,
	summary TEXT,
	PRIMARY KEY (plan_id)
);

CREATE TABLE plants (
	plant_id VARCHAR(200) NOT NULL,
	name TEXT NOT NULL,
	time_unit_minutes DOUBLE NOT NULL,
	start TEXT,
	horizon BIGINT,
	power_cap_kw DOUBLE,
	carbon_cap_kg DOUBLE,
	PRIMARY KEY (plant_id)
);

CREATE TABLE precedences (
	plant_id VARCHAR(200) NOT NULL,
	successor_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	predecessor_id VARCHAR(200) NOT NULL,
	lag BIGINT NOT NULL,
	PRIMARY KEY (plant_id, successor_id, position)
);

CREATE TABLE profiles (
	plant_id VARCHAR(200) NOT NULL,
	profile VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	start_tick BIGINT NOT NULL,
	value DOUBLE NOT NULL,
	period BIGINT,
	PRIMARY KEY (plant_id, profile, position)
);

CREATE TABLE resources (
	plant_id VARCHAR(200) NOT NULL,
	resource_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	capacity BIGINT NOT NULL,
	PRIMARY KEY (plant_id, resource_id)
);

CREATE TABLE setups (
	plant_id VARCHAR(200) NOT NULL,
	machine_id VARCHAR(200) NOT NULL,
	from_family VARCHAR(200) NOT NULL,
	to_family VARCHAR(200) NOT NULL,
	ticks BIGINT NOT NULL,
	PRIMARY KEY (plant_id, machine_id, from_family, to_family)
);

CREATE TABLE unavailability (
	plant_id VARCHAR(200) NOT NULL,
	machine_id VARCHAR(200) NOT NULL,
	position INTEGER NOT NULL,
	start_tick BIGINT NOT NULL,
	end_tick BIGINT NOT NULL,
	PRIMARY KEY (plant_id, machine_id, position)
);
