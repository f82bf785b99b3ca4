/**
 * A fault of the model itself — not of the kernel or driver code it models: a routine that returns
 * an unknown label, a frame with more arguments than its slot, a call deeper than the stack, a
 * routine missing from the model, a blocked step that wrote the state, a bound exceeded. It is
 * never a verdict about the design under check; the command reports it with its own exit code (4).
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

/** A schedule that cannot be executed: the chosen actor is finished or blocked, or a choice is out of range. */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}
