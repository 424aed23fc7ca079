import { Migration } from '@mikro-orm/migrations';

/**
 * Each directory keeps how many goods it holds, written by the transaction that adds or removes one
 * (it holds the directory's lock), so that MAX_GOODS_PER_DIRECTORY is checked without counting a
 * directory's goods under that lock (a count(*) of 100,000 goods takes 25–80 ms). Existing
 * directories are counted once here.
 */
export class Migration20261216000000GoodsCount extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `directories` add column `goods_count` integer not null default 0');
    this.addSql('update `directories` set `goods_count` = (select count(*) from `goods` where `goods`.`directory_id` = `directories`.`id`)');
  }
}
