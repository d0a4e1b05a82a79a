import { constants } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import type { Family } from '../destination-parser/address.js';
import { SysctlError } from './errors.js';

/**
 * The /proc/sys file of a sysctl key. Files under /proc/sys/net belong to the network namespace of
 * the process that opens them, so inside the pod they are the pod's own.
 *
 * @param key `net/ipv4/ip_forward` or `net.ipv4.ip_forward` (dots only when no part has one)
 * @throws TypeError for a key that would leave /proc/sys
 */
export function sysctlPath(key: string): string {
  const parts = (key.includes('/') ? key : key.replaceAll('.', '/')).split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new TypeError(`not a sysctl key: '${key}'`);
  }
  return `/proc/sys/${parts.join('/')}`;
}

/** The /proc/sys file that switches forwarding on for a family. */
export function forwardingPath(family: Family): string {
  return sysctlPath(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding');
}

/**
 * Writes a sysctl in the current network namespace (`sysctl -w`).
 *
 * @param key e.g. `net/ipv4/conf/macvlan0/arp_notify` (slashes: interface names may contain dots)
 * @throws SysctlError with the file system's code (ENOENT for an unknown key or interface, EACCES or
 *   EROFS when /proc/sys is read-only, as in an unprivileged container)
 */
export async function writeSysctl(key: string, value: string): Promise<void> {
  const path = sysctlPath(key);
  try {
    await writeFile(path, `${value}\n`);
  } catch (error) {
    throw new SysctlError(`set ${key} = ${value}`, path, error);
  }
}

/**
 * Checks that a sysctl can be written in the current network namespace, without writing it.
 *
 * @param key e.g. `net/ipv4/ip_forward`
 * @throws SysctlError with the file system's code (ENOENT for an unknown key or interface, EACCES or
 *   EROFS when /proc/sys is read-only)
 */
export async function checkSysctlWritable(key: string): Promise<void> {
  const path = sysctlPath(key);
  // Opened for writing, not access(2): access() drops capabilities for a non-root user, who may
  // still write the pod's own /proc/sys/net with CAP_NET_ADMIN. Opening writes nothing.
  try {
    const handle = await open(path, constants.O_WRONLY);
    await handle.close();
  } catch (error) {
    throw new SysctlError(`set ${key}`, path, error);
  }
}

/**
 * Reads a sysctl in the current network namespace, trimmed.
 *
 * @throws SysctlError when the file cannot be read
 */
export async function readSysctl(key: string): Promise<string> {
  const path = sysctlPath(key);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    throw new SysctlError(`read ${key}`, path, error);
  }
}

/**
 * Enables forwarding for a family in the current network namespace (`sysctl -w
 * net.ipv4.ip_forward=1` or `net.ipv6.conf.all.forwarding=1`). Idempotent.
 *
 * @throws SysctlError (see writeSysctl)
 */
export async function setForwarding(family: Family): Promise<void> {
  await writeSysctl(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding', '1');
}

/**
 * Whether forwarding is on for a family in the current network namespace.
 *
 * @throws SysctlError when the file cannot be read
 */
export async function readForwarding(family: Family): Promise<boolean> {
  return (await readSysctl(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding')) === '1';
}
