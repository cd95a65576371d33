/* leftovers.h — what a command started and left behind, found, ended and reaped (Linux /proc).
 *
 * A process group is not enough: a child that calls setsid(2) leaves it and escapes the timeout's
 * group kill; once its parent is gone it is re-parented to the agent (a subreaper), which must reap
 * it or keep a zombie. So every command runs with a mark in its environment (SLURMPUSH_RUN=…) that its
 * descendants inherit through setsid, new process groups and double forks: whatever carries the mark,
 * or descends from the command, is that run's.
 *
 * Orphans are told from the commands other threads are running by the kernel's own bookkeeping: an
 * orphan is re-parented to the subreaper's first living thread (the main thread), while a command is
 * the child of the thread that started it, and commands are started from collector threads only.
 * A descendant that clears its environment and leaves the group and the session is not found while it
 * runs; it is reaped once it exits. */
#ifndef SLURMPUSH_LEFTOVERS_H
#define SLURMPUSH_LEFTOVERS_H

#include <stddef.h>
#include <sys/types.h>

enum { LEFTOVERS_MARK_MAX = 64 };

/* A mark no other run (of this agent or another) has: "SLURMPUSH_RUN=pid.tid.ns". */
void leftovers_mark(char out[LEFTOVERS_MARK_MAX]);

/* Kills (SIGKILL) the command (root, if > 0) and everything that descends from it or carries mark,
 * then reaps those that became this process's children, except root (its caller wants its status);
 * waits at most about a second for them. Returns how many it killed besides root. */
size_t leftovers_end(const char *mark, pid_t root);

/* After a run: ends what it left behind (alive orphans that carry mark) and reaps every orphan that
 * has exited, whichever run it came from. Cheap: reads the main thread's list of children. Returns
 * how many it killed or reaped. */
size_t leftovers_sweep(const char *mark);

#endif
