// Package sdnotify tells systemd how a Type=notify service is doing, over
// the datagram socket systemd names in $NOTIFY_SOCKET (the sd_notify(3)
// protocol): READY=1 once the service is first ready, STOPPING=1 when it
// starts shutting down. Outside such a unit there is no socket and nothing
// is sent.
package sdnotify
