/** B-25, buggy: gntdev before dbe97cff7dd9 (its invalidate callback waits for the grant pages to be unused). */
import { gntdev } from './gntdev.js';

export default gntdev(true);
