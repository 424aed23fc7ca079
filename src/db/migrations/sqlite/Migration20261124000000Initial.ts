import { Migration } from '@mikro-orm/migrations';

/**
 * The whole schema for the embedded database; goods.count has a CHECK so no code path can store a negative count.
 */
export class Migration20261124000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table \`users\` (\`id\` integer not null primary key autoincrement, \`openid\` text not null, \`unionid\` text null, \`nickname\` text not null default '', \`avatar_url\` text not null default '', \`gender\` integer not null default 0, \`city\` text not null default '', \`province\` text not null default '', \`country\` text not null default '', \`language\` text not null default '', \`created_at\` datetime not null, \`updated_at\` datetime not null)`,
    );
    this.addSql(`create unique index \`users_openid_unique\` on \`users\` (\`openid\`)`);
    this.addSql(
      `create table \`sessions\` (\`id\` integer not null primary key autoincrement, \`user_id\` integer not null, \`token_hash\` text not null, \`device_id\` text null, \`session_key\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`revoked_at\` datetime null, constraint \`sessions_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade)`,
    );
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`)`);
    this.addSql(`create unique index \`sessions_token_hash_unique\` on \`sessions\` (\`token_hash\`)`);
    this.addSql(
      `create table \`event_outcomes\` (\`id\` integer not null primary key autoincrement, \`user_id\` integer not null, \`event_id\` text not null, \`ok\` integer not null, \`outcome\` text not null, \`created_at\` datetime not null, constraint \`event_outcomes_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade)`,
    );
    this.addSql(`create index \`event_outcomes_user_id_index\` on \`event_outcomes\` (\`user_id\`)`);
    this.addSql(`create unique index \`event_outcomes_user_id_event_id_unique\` on \`event_outcomes\` (\`user_id\`, \`event_id\`)`);
    this.addSql(
      `create table \`directories\` (\`id\` integer not null primary key autoincrement, \`owner_id\` integer not null, \`name\` text not null, \`live_name\` text null, \`freq\` integer not null default 0, \`revision\` integer not null default 0, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`deleted_at\` datetime null, constraint \`directories_owner_id_foreign\` foreign key(\`owner_id\`) references \`users\`(\`id\`) on delete cascade on update cascade)`,
    );
    this.addSql(`create index \`directories_owner_id_index\` on \`directories\` (\`owner_id\`)`);
    this.addSql(`create unique index \`directories_owner_id_live_name_unique\` on \`directories\` (\`owner_id\`, \`live_name\`)`);
    this.addSql(
      `create table \`logs\` (\`id\` integer not null primary key autoincrement, \`directory_id\` integer not null, \`user_id\` integer not null, \`device_id\` text null, \`type\` text not null, \`goods_id\` integer null, \`code\` text null, \`name\` text null, \`remarks\` text null, \`delta\` integer null, \`count_after\` integer null, \`dir_name\` text null, \`revision\` integer not null, \`event_id\` text null, \`at\` datetime not null, constraint \`logs_directory_id_foreign\` foreign key(\`directory_id\`) references \`directories\`(\`id\`) on delete cascade on update cascade, constraint \`logs_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade)`,
    );
    this.addSql(`create index \`logs_directory_id_index\` on \`logs\` (\`directory_id\`)`);
    this.addSql(`create index \`logs_user_id_index\` on \`logs\` (\`user_id\`)`);
    this.addSql(`create index \`logs_user_id_id_index\` on \`logs\` (\`user_id\`, \`id\`)`);
    this.addSql(`create unique index \`logs_directory_id_revision_unique\` on \`logs\` (\`directory_id\`, \`revision\`)`);
    this.addSql(
      `create table \`goods\` (\`id\` integer not null primary key autoincrement, \`directory_id\` integer not null, \`code\` text not null, \`name\` text not null default '', \`remarks\` text not null default '', \`count\` integer not null default 0 check (\`count\` >= 0), \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`goods_directory_id_foreign\` foreign key(\`directory_id\`) references \`directories\`(\`id\`) on delete cascade on update cascade)`,
    );
    this.addSql(`create index \`goods_directory_id_index\` on \`goods\` (\`directory_id\`)`);
    this.addSql(`create unique index \`goods_directory_id_code_unique\` on \`goods\` (\`directory_id\`, \`code\`)`);
  }
}
