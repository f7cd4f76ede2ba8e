/**
 * The SSH layer: connect with verified host keys, durable no-clobber SFTP uploads, pipelined
 * downloads, quoted remote commands and port forwards for pg. Only files in this folder import ssh2.
 */
export { connectSsh, preferredCiphers, type SshTarget } from './connect.js';
export { SshError, SshErrorCode, isSshError, sftpError, type SshErrorCodeValue } from './errors.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { SshTunnelSocket } from './forward.js';
export { checkHostKey, type HostKeyCheck } from './host-key-check.js';
export { appendKnownHostLine, readKnownHosts } from './known-hosts-file.js';
export {
  algorithmsForKeyType,
  fingerprintSha256,
  formatKnownHostLine,
  hostFieldMatches,
  keyBlobType,
  knownHostName,
  knownKeyTypes,
  orderHostKeyAlgorithms,
  parseKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './known-hosts.js';
export { shellJoin, shellQuote } from './quote.js';
export { pgStreamFactory, SshSession } from './session.js';
export { SftpChannel, toStat, type RemoteDirEntry, type RemoteStat } from './sftp-channel.js';
export { download, readRemoteFile, type DownloadOptions, type DownloadResult } from './sftp-download.js';
export { fsyncRemoteDir, removeStaleTemps, tempNameFor, uploadAtomic, type UploadOptions, type UploadResult } from './sftp-upload.js';
export { pipelinedWrite, type UploadSource } from './sftp-write.js';
