import { ROLES, type Role } from '../../src/contract/constants';
import { atLeast, decide, higher, mayRead, requiredToManage } from '../../src/modules/inventory/access';
import { AppError } from '../../src/errors';

/** The access seam's decisions (SPEC "Teams"), every role against every required role, with no server. */

/** What `decide` answers: the role, or the refusal's body. */
function answer(membership: Parameters<typeof decide>[0], required: Role): Role | Record<string, unknown> {
  try {
    return decide(membership, required);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, ...error.details };
  }
}

const rank = (role: Role) => ROLES.length - ROLES.indexOf(role);

describe('decide', () => {
  describe.each(ROLES)('a %s', (role) => {
    it.each(ROLES)('asked for %s: their role when it is as high, else forbidden naming both', (required) => {
      const expected = rank(role) >= rank(required) ? role : { code: 'forbidden', role, required };
      expect(answer({ deleted: false, role }, required)).toEqual(expected);
    });

    it('in a deleted directory: directory_not_found, whatever is required', () => {
      for (const required of ROLES) expect(answer({ deleted: true, role }, required)).toEqual({ code: 'directory_not_found' });
    });
  });

  it('a stranger, or a directory that does not exist, is directory_not_found for every required role (never forbidden)', () => {
    for (const required of ROLES) {
      expect(answer({ deleted: false, role: null }, required)).toEqual({ code: 'directory_not_found' });
      expect(answer(null, required)).toEqual({ code: 'directory_not_found' });
    }
  });

  it('the forbidden message names what was asked', () => {
    expect(() => decide({ deleted: false, role: 'viewer' }, 'editor', 'a scan')).toThrow('a viewer may not do a scan: it needs editor or higher');
  });

  it('mayRead: every member of a live directory, nobody else', () => {
    for (const role of ROLES) expect(mayRead({ deleted: false, role })).toBe(true);
    expect(mayRead({ deleted: false, role: null })).toBe(false);
    expect(mayRead({ deleted: true, role: 'owner' })).toBe(false);
    expect(mayRead(null)).toBe(false);
  });
});

describe('atLeast and higher', () => {
  it('orders owner > manager > editor > viewer', () => {
    for (const a of ROLES) {
      for (const b of ROLES) {
        expect(atLeast(a, b)).toBe(ROLES.indexOf(a) <= ROLES.indexOf(b));
        expect(higher(a, b)).toBe(ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);
        expect(higher(a, b)).toBe(higher(b, a));
      }
    }
  });
});

describe('requiredToManage', () => {
  it('anyone may leave (viewer suffices), whoever they are', () => {
    for (const target of ROLES) expect(requiredToManage(target, { removingSelf: true })).toBe('viewer');
  });

  it('removing someone else: the owner for an owner or a manager, a manager for an editor or a viewer', () => {
    expect(requiredToManage('owner', {})).toBe('owner');
    expect(requiredToManage('manager', {})).toBe('owner');
    expect(requiredToManage('editor', {})).toBe('manager');
    expect(requiredToManage('viewer', {})).toBe('manager');
  });

  it.each(ROLES)('changing a %s: only the owner makes an owner or touches an owner or a manager', (target) => {
    for (const to of ROLES) {
      const expected = to === 'owner' || target === 'owner' || target === 'manager' ? 'owner' : 'manager';
      expect(requiredToManage(target, { to })).toBe(expected);
    }
  });

  it('a manager may manage an editor but not a manager; an editor may manage nobody', () => {
    const may = (actor: Role, target: Role, to?: Role) => atLeast(actor, requiredToManage(target, { to }));
    expect(may('manager', 'editor', 'viewer')).toBe(true);
    expect(may('manager', 'viewer', 'manager')).toBe(true);
    expect(may('manager', 'manager', 'editor')).toBe(false);
    expect(may('manager', 'editor', 'owner')).toBe(false);
    expect(may('editor', 'viewer', 'editor')).toBe(false);
    expect(may('owner', 'manager', 'viewer')).toBe(true);
  });
});
