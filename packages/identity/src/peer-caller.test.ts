import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { getPeerCallerId, getPeerSpiffeId, rememberPeer } from './mtls.ts';
import { parseSpiffeId, type SpiffeId } from './spiffe-id.ts';

const socket = (): net.Socket => ({}) as net.Socket;

describe('getPeerCallerId', () => {
  it('carries the verified peer ID from the handshake to every request of the connection', () => {
    const s = socket();
    rememberPeer(s, { id: parseSpiffeId('spiffe://spike.ist/spike/pilot/role/superuser'), serialHex: '01' });
    const req = { socket: s } as unknown as Parameters<typeof getPeerCallerId>[0];
    assert.equal(getPeerCallerId(s), 'spiffe://spike.ist/spike/pilot/role/superuser');
    assert.equal(getPeerCallerId(req), 'spiffe://spike.ist/spike/pilot/role/superuser');
  });

  it('is undefined for an ID SPIKE does not accept, and for a connection never verified', () => {
    const s = socket();
    // SPIFFE IDs that parse here are SPIKE-compatible; a looser ID stands in for any other kind.
    const id = { toString: () => 'spiffe://spike.ist/a b' } as SpiffeId;
    rememberPeer(s, { id, serialHex: '02' });
    assert.equal(getPeerSpiffeId(s)?.toString(), id.toString(), 'the verified ID itself is kept');
    assert.equal(getPeerCallerId(s), undefined);
    assert.equal(getPeerCallerId(socket()), undefined);
    assert.equal(getPeerCallerId(null), undefined);
  });
});
