/**
 * @module @spike-ts/sdk/testing
 * Test helpers for SPIKE clients: a throwaway PKI and a fake Nexus over real mTLS.
 * Not part of the SDK's runtime API.
 */
export { startFakeNexus } from './fake-nexus.ts';
export type { FakeNexus, FakeNexusOptions, RecordedRequest } from './fake-nexus.ts';
export { FakeNexusState } from './fake-nexus-state.ts';
export { createTestPki, TEST_IDS } from './test-pki.ts';
export type { TestIdentity, TestPki } from './test-pki.ts';
