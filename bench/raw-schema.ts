/**
 * The tables a scan touches, as the server's migrations create them today (keys, unique indexes,
 * foreign keys, the count check), for the raw-driver baselines. The bench keeps its own copy so that it
 * runs whatever the server's schema becomes; the baselines measure the database, not the server.
 */

export const MYSQL_SCHEMA = [
  'create table users (id int unsigned not null auto_increment primary key, openid varchar(64) not null, unique users_openid_unique (openid)) engine = InnoDB',
  `create table directories (id int unsigned not null auto_increment primary key, owner_id int unsigned not null, name varchar(100) not null,
    live_name varchar(100) null, freq int not null default 0, revision int not null default 0, created_at datetime(3) not null, updated_at datetime(3) not null,
    deleted_at datetime(3) null, index directories_owner_id_index (owner_id), unique directories_owner_id_live_name_unique (owner_id, live_name),
    constraint directories_owner_id_foreign foreign key (owner_id) references users (id) on update cascade on delete cascade) engine = InnoDB`,
  `create table goods (id int unsigned not null auto_increment primary key, directory_id int unsigned not null, code text not null, code_hash varchar(64) not null,
    name varchar(140) not null default '', remarks varchar(1000) not null default '', count int not null default 0 check (count >= 0),
    created_at datetime(3) not null, updated_at datetime(3) not null, index goods_directory_id_index (directory_id),
    unique goods_directory_id_code_hash_unique (directory_id, code_hash),
    constraint goods_directory_id_foreign foreign key (directory_id) references directories (id) on update cascade on delete cascade) engine = InnoDB`,
  `create table logs (id int unsigned not null auto_increment primary key, directory_id int unsigned not null, user_id int unsigned not null, device_id varchar(64) null,
    type varchar(16) not null, goods_id int null, code text null, name varchar(140) null, remarks varchar(1000) null, delta int null, count_after int null,
    dir_name varchar(100) null, revision int not null, event_id varchar(64) null, at datetime(3) not null, index logs_directory_id_index (directory_id),
    index logs_user_id_index (user_id), index logs_user_id_id_index (user_id, id), unique logs_directory_id_revision_unique (directory_id, revision),
    constraint logs_directory_id_foreign foreign key (directory_id) references directories (id) on update cascade on delete cascade,
    constraint logs_user_id_foreign foreign key (user_id) references users (id) on update cascade on delete cascade) engine = InnoDB`,
  `create table event_outcomes (id int unsigned not null auto_increment primary key, user_id int unsigned not null, event_id varchar(64) not null,
    ok tinyint(1) not null, outcome text not null, created_at datetime(3) not null, index event_outcomes_user_id_index (user_id),
    unique event_outcomes_user_id_event_id_unique (user_id, event_id),
    constraint event_outcomes_user_id_foreign foreign key (user_id) references users (id) on update cascade on delete cascade) engine = InnoDB`,
];

export const SQLITE_SCHEMA = `
  create table users (id integer not null primary key autoincrement, openid text not null);
  create unique index users_openid_unique on users (openid);
  create table directories (id integer not null primary key autoincrement, owner_id integer not null, name text not null, live_name text null,
    freq integer not null default 0, revision integer not null default 0, created_at datetime not null, updated_at datetime not null, deleted_at datetime null,
    constraint directories_owner_id_foreign foreign key (owner_id) references users (id) on delete cascade on update cascade);
  create index directories_owner_id_index on directories (owner_id);
  create unique index directories_owner_id_live_name_unique on directories (owner_id, live_name);
  create table goods (id integer not null primary key autoincrement, directory_id integer not null, code text not null, code_hash text not null,
    name text not null default '', remarks text not null default '', count integer not null default 0 check (count >= 0),
    created_at datetime not null, updated_at datetime not null,
    constraint goods_directory_id_foreign foreign key (directory_id) references directories (id) on delete cascade on update cascade);
  create index goods_directory_id_index on goods (directory_id);
  create unique index goods_directory_id_code_hash_unique on goods (directory_id, code_hash);
  create table logs (id integer not null primary key autoincrement, directory_id integer not null, user_id integer not null, device_id text null,
    type text not null, goods_id integer null, code text null, name text null, remarks text null, delta integer null, count_after integer null,
    dir_name text null, revision integer not null, event_id text null, at datetime not null,
    constraint logs_directory_id_foreign foreign key (directory_id) references directories (id) on delete cascade on update cascade,
    constraint logs_user_id_foreign foreign key (user_id) references users (id) on delete cascade on update cascade);
  create index logs_directory_id_index on logs (directory_id);
  create index logs_user_id_index on logs (user_id);
  create index logs_user_id_id_index on logs (user_id, id);
  create unique index logs_directory_id_revision_unique on logs (directory_id, revision);
  create table event_outcomes (id integer not null primary key autoincrement, user_id integer not null, event_id text not null, ok integer not null,
    outcome text not null, created_at datetime not null,
    constraint event_outcomes_user_id_foreign foreign key (user_id) references users (id) on delete cascade on update cascade);
  create index event_outcomes_user_id_index on event_outcomes (user_id);
  create unique index event_outcomes_user_id_event_id_unique on event_outcomes (user_id, event_id);
`;

/** The statements of one scan, in the order the brief's baseline sends them (`?` placeholders, both databases). */
export const SCAN_STATEMENTS = {
  lockDirectory: 'select id, name, revision from directories where id = ? and owner_id = ? and deleted_at is null',
  selectGoods: 'select id, name, remarks, count from goods where directory_id = ? and code_hash = ?',
  updateGoods: 'update goods set count = ?, name = ?, remarks = ?, updated_at = ? where id = ?',
  insertGoods: 'insert into goods (directory_id, code, code_hash, name, remarks, count, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
  bumpRevision: 'update directories set revision = revision + 1, freq = freq + 1, updated_at = ? where id = ?',
  insertLog: 'insert into logs (directory_id, user_id, device_id, type, goods_id, code, name, remarks, delta, count_after, revision, event_id, at) values (?, ?, null, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insertOutcome: 'insert into event_outcomes (user_id, event_id, ok, outcome, created_at) values (?, ?, 1, ?, ?)',
};
