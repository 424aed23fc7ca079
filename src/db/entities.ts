import { SessionSchema, UserSchema } from '../modules/auth/entities';
import { DirectorySchema, EventOutcomeSchema, GoodsSchema, LogEntrySchema } from '../modules/inventory/entities';
import { InviteSchema, MemberSchema } from '../modules/teams/entities';
import { WebLoginSchema } from '../modules/weblogin/entities';

/** Every entity of the product, registered with MikroORM in one list. */
export const entities = [UserSchema, SessionSchema, DirectorySchema, GoodsSchema, LogEntrySchema, EventOutcomeSchema, MemberSchema, InviteSchema, WebLoginSchema];
