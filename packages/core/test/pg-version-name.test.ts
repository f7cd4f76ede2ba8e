/** versionName: server_version_num as PostgreSQL names the release (what -P prints). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { versionName } from '../src/pg/client.js';

it('150018 is 15.18, 180000 is 18.0, 140009 is 14.9; before 10 three parts: 90624 is 9.6.24', () => {
  assert.deepEqual([150018, 180000, 140009, 170100, 90624, 100023].map(versionName), ['15.18', '18.0', '14.9', '17.100', '9.6.24', '10.23']);
});
