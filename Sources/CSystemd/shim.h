#ifndef DOSED_CSYSTEMD_SHIM_H
#define DOSED_CSYSTEMD_SHIM_H
/* sd_journal_sendv from Swift: no CODE_FILE/CODE_LINE of this header. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
/* Desktop notifications over the session bus (SPEC 9). */
#include <systemd/sd-bus.h>
#include <poll.h>
#include <sys/uio.h>
/* Linux facilities the daemon watches with: clock changes and config edits. */
#include <sys/timerfd.h>
#include <sys/inotify.h>
#include <grp.h>
#include <pwd.h>
/* malloc_trim: memory a burst of work took goes back to the system. */
#include <malloc.h>
#endif
