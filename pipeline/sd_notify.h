/* sd_notify.h — readiness for systemd (Type=notify): one datagram to the
 * socket named by NOTIFY_SOCKET, as sd_notify(3) documents the protocol,
 * without linking libsystemd. Does nothing when NOTIFY_SOCKET is unset. */
#ifndef SL_SD_NOTIFY_H
#define SL_SD_NOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", "STATUS=..."); 0, or -1 when the
 * socket cannot be reached (worth a debug line, never fatal). */
int sl_sd_notify(const char *state);

#endif
