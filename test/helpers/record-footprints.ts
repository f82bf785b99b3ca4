/** Vitest setup file, active only under `npm run footprints`: writes each test file's footprint record. */
import { afterAll } from 'vitest';
import { flushRecorder } from '../../src/world/footprint-recorder.js';

afterAll(() => flushRecorder());
