/**
 * Quoting for the remote shell. SSH has no argv: the server hands one string to the user's
 * login shell (`$SHELL -c STRING`), so every argument must be quoted so that no shell
 * (sh, bash, dash, zsh, ksh) expands anything in it. Inside single quotes nothing is
 * special except the single quote itself, which is closed, escaped and reopened: ' → '\''.
 */

/** Quotes one argument for a POSIX shell: always single quotes, `'` becomes `'\''`. */
export function shellQuote(arg: string): string {
  // A NUL cannot travel through a C string (the exec request, execve's argv): refuse it
  // rather than have the remote side silently cut the argument short.
  if (arg.includes('\0')) throw new TypeError('shell argument contains a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argv into one remote shell command line, each argument quoted by shellQuote. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('empty argv');
  return argv.map(shellQuote).join(' ');
}
