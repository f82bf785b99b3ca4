/** vm_fault_t results the fault path combines (the codes themselves are in ../flags.ts). */
import { VM_FAULT_OOM, VM_FAULT_SIGBUS } from '../flags.js';

/** include/linux/mm_types.h:VM_FAULT_ERROR, restricted to the results the model produces. */
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS;
