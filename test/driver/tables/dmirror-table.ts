/** `--driver` file for the binary: dmirror's device table (no-page-refs), its callback waiting for jobs in flight. */
import { intervalTableDriver } from './drivers.js';

export default intervalTableDriver({ name: 'dmirror-table', kind: 'no-page-refs' });
