/** B-25, fixed: gntdev after dbe97cff7dd9 (the grants are unmapped asynchronously; the callback does not wait). */
import { gntdev } from './gntdev.js';

export default gntdev(false);
