import { parseDatabaseUrl } from './src/config';
import { ormOptions } from './src/db/orm';

/**
 * For MikroORM's CLI (e.g. `npx mikro-orm migration:create`): the same options as the server, for the
 * database DATABASE_URL names. The server itself applies migrations at start-up.
 */
export default ormOptions(parseDatabaseUrl(process.env.DATABASE_URL));
