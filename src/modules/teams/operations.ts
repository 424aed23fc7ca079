import type { Handlers } from '../../operations/types';
import { granted } from '../../operations/answers';
import { acceptInvite, createInvite, listInvites, listMembers, removeMember, revokeInvite, setMemberRole } from './service';

/** The operations of teams: members, roles and invites. */
export const teamHandlers: Handlers<'listMembers' | 'setMemberRole' | 'removeMember' | 'createInvite' | 'listInvites' | 'revokeInvite' | 'acceptInvite'> = {
  listMembers: async ({ services, access }) => ({ members: await listMembers(services.em(), granted(access)) }),

  setMemberRole: async ({ services, actor, input, required }) => ({
    member: await setMemberRole(services.teams(), actor, input.directoryId, input.userId, input.role, required),
  }),

  removeMember: async ({ services, actor, input, required }) => {
    await removeMember(services.teams(), actor, input.directoryId, input.userId, required);
    return {};
  },

  createInvite: async ({ services, actor, input, required }) => {
    const { directoryId, ...invite } = input;
    return { invite: await createInvite(services.teams(), actor, directoryId, invite, required) };
  },

  listInvites: async ({ services, access }) => ({ invites: await listInvites(services.em(), granted(access), services.now()) }),

  revokeInvite: async ({ services, actor, input, required }) => {
    await revokeInvite(services.teams(), actor, input.directoryId, input.code, required);
    return {};
  },

  acceptInvite: async ({ services, actor, input }) => {
    services.inviteAccepts.take(actor.userId);
    return acceptInvite(services.teams(), actor, input.code);
  },
};
