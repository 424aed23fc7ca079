import { Migration } from '@mikro-orm/migrations';

/**
 * The whole schema. Tables are utf8mb4_bin so that codes and names compare exactly as SQLite compares them
 * (a QR code 'abc' is not 'ABC'); goods.count has a CHECK so no code path can store a negative count.
 */
export class Migration20261124000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table \`users\` (\`id\` int unsigned not null auto_increment primary key, \`openid\` varchar(64) not null, \`unionid\` varchar(64) null, \`nickname\` varchar(100) not null default '', \`avatar_url\` varchar(1000) not null default '', \`gender\` int not null default 0, \`city\` varchar(100) not null default '', \`province\` varchar(100) not null default '', \`country\` varchar(100) not null default '', \`language\` varchar(20) not null default '', \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`users\` add unique \`users_openid_unique\`(\`openid\`)`);
    this.addSql(
      `create table \`sessions\` (\`id\` int unsigned not null auto_increment primary key, \`user_id\` int unsigned not null, \`token_hash\` varchar(64) not null, \`device_id\` varchar(64) null, \`session_key\` varchar(64) not null, \`created_at\` datetime(3) not null, \`expires_at\` datetime(3) not null, \`revoked_at\` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`sessions\` add index \`sessions_user_id_index\`(\`user_id\`)`);
    this.addSql(`alter table \`sessions\` add unique \`sessions_token_hash_unique\`(\`token_hash\`)`);
    this.addSql(
      `create table \`event_outcomes\` (\`id\` int unsigned not null auto_increment primary key, \`user_id\` int unsigned not null, \`event_id\` varchar(64) not null, \`ok\` tinyint(1) not null, \`outcome\` text not null, \`created_at\` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`event_outcomes\` add index \`event_outcomes_user_id_index\`(\`user_id\`)`);
    this.addSql(`alter table \`event_outcomes\` add unique \`event_outcomes_user_id_event_id_unique\`(\`user_id\`, \`event_id\`)`);
    this.addSql(
      `create table \`directories\` (\`id\` int unsigned not null auto_increment primary key, \`owner_id\` int unsigned not null, \`name\` varchar(100) not null, \`live_name\` varchar(100) null, \`freq\` int not null default 0, \`revision\` int not null default 0, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`deleted_at\` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`directories\` add index \`directories_owner_id_index\`(\`owner_id\`)`);
    this.addSql(`alter table \`directories\` add unique \`directories_owner_id_live_name_unique\`(\`owner_id\`, \`live_name\`)`);
    this.addSql(
      `create table \`logs\` (\`id\` int unsigned not null auto_increment primary key, \`directory_id\` int unsigned not null, \`user_id\` int unsigned not null, \`device_id\` varchar(64) null, \`type\` varchar(16) not null, \`goods_id\` int null, \`code\` varchar(512) null, \`name\` varchar(100) null, \`remarks\` varchar(1000) null, \`delta\` int null, \`count_after\` int null, \`dir_name\` varchar(100) null, \`revision\` int not null, \`event_id\` varchar(64) null, \`at\` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`logs\` add index \`logs_directory_id_index\`(\`directory_id\`)`);
    this.addSql(`alter table \`logs\` add index \`logs_user_id_index\`(\`user_id\`)`);
    this.addSql(`alter table \`logs\` add index \`logs_user_id_id_index\`(\`user_id\`, \`id\`)`);
    this.addSql(`alter table \`logs\` add unique \`logs_directory_id_revision_unique\`(\`directory_id\`, \`revision\`)`);
    this.addSql(
      `create table \`goods\` (\`id\` int unsigned not null auto_increment primary key, \`directory_id\` int unsigned not null, \`code\` varchar(512) not null, \`name\` varchar(100) not null default '', \`remarks\` varchar(1000) not null default '', \`count\` int not null default 0 check (\`count\` >= 0), \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB`,
    );
    this.addSql(`alter table \`goods\` add index \`goods_directory_id_index\`(\`directory_id\`)`);
    this.addSql(`alter table \`goods\` add unique \`goods_directory_id_code_unique\`(\`directory_id\`, \`code\`)`);
    this.addSql(`alter table \`sessions\` add constraint \`sessions_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade`);
    this.addSql(`alter table \`event_outcomes\` add constraint \`event_outcomes_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade`);
    this.addSql(`alter table \`directories\` add constraint \`directories_owner_id_foreign\` foreign key (\`owner_id\`) references \`users\` (\`id\`) on update cascade on delete cascade`);
    this.addSql(`alter table \`logs\` add constraint \`logs_directory_id_foreign\` foreign key (\`directory_id\`) references \`directories\` (\`id\`) on update cascade on delete cascade`);
    this.addSql(`alter table \`logs\` add constraint \`logs_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade`);
    this.addSql(`alter table \`goods\` add constraint \`goods_directory_id_foreign\` foreign key (\`directory_id\`) references \`directories\` (\`id\`) on update cascade on delete cascade`);
  }
}
