/** `--driver` file for the binary: the same driver, its callback clearing the table without waiting for jobs in flight. */
import { intervalTableDriver } from './drivers.js';

export default intervalTableDriver({ name: 'dmirror-table-unfenced', kind: 'no-page-refs', fence: false });
