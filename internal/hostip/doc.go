// Package hostip finds this host's address, the one ${SELF_IP} renders to
// in the config file, and tells when it has changed.
package hostip
