#!/usr/bin/env bash
# Install GATK without conda: the pinned release of requirements/gatk/pom.xml and its runtime
# dependencies from Maven Central, into tools/gatk-VERSION/lib (ignored by git), every jar checked
# against requirements/gatk/jars.sha256, and a `gatk` launcher in the venv's bin.
# A second call verifies the installed jars and reuses them.
#
#   scripts/install-gatk.sh [--lock]      --lock: resolve again and rewrite jars.sha256 (after a version bump)
#
# Environment: SEQPIPE_TOOLS (install root, default ./tools), SEQPIPE_GATK_LOCK (checksum file),
# SEQPIPE_GATK_BIN (where the launcher goes, default .venv/bin), JAVA_HOME (the Java that runs GATK).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[install-gatk] %s\n' "$*"; }
die() { printf '[install-gatk] ERROR: %s\n' "$*" >&2; exit 1; }

POM=requirements/gatk/pom.xml
LOCK=${SEQPIPE_GATK_LOCK:-requirements/gatk/jars.sha256}
VERSION=$(grep -A1 '<artifactId>gatk</artifactId>' "$POM" | sed -n 's:.*<version>\(.*\)</version>.*:\1:p')
[[ -n $VERSION ]] || die "no GATK version found in $POM"
TOOLS=$(realpath -m "${SEQPIPE_TOOLS:-tools}")
HOME_DIR=$TOOLS/gatk-$VERSION
BIN=$(realpath -m "${SEQPIPE_GATK_BIN:-.venv/bin}")
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
MIN_JAVA=17  # GATK 4.6 is built for Java 17

check_java() {
    command -v "$JAVA" >/dev/null || die "no Java found ($JAVA): GATK $VERSION needs Java $MIN_JAVA or newer (Debian: apt-get install default-jre-headless; or set JAVA_HOME)"
    local banner major
    banner=$("$JAVA" -version 2>&1 | head -n 1)
    major=$(sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' <<<"$banner")
    [[ $major == 1 ]] && major=$(sed -n 's/.*version "1\.\([0-9]*\)\..*/\1/p' <<<"$banner")
    [[ -n $major ]] || die "cannot read the Java version from '$JAVA -version': $banner"
    (( major >= MIN_JAVA )) || die "GATK $VERSION needs Java $MIN_JAVA or newer; '$JAVA' is Java $major ($banner). Install Java $MIN_JAVA+ or set JAVA_HOME to one."
}

# verify DIR: every jar named in the lock is there with its checksum, and no other jar
verify() {
    local dir=$1 name expected actual
    [[ -f $LOCK ]] || die "checksum file $LOCK is missing (run with --lock to create it)"
    while read -r expected name; do
        [[ -f $dir/$name ]] || die "GATK install incomplete: artifact $name is missing from $dir"
        actual=$(sha256sum "$dir/$name" | cut -d' ' -f1)
        [[ $actual == "$expected" ]] || die "checksum of artifact $name is $actual, expected $expected ($LOCK); not installing"
    done <"$LOCK"
    local extra
    extra=$(comm -13 <(cut -d' ' -f3 "$LOCK" | sort) <(ls "$dir" | sort) | head -n 3)
    [[ -z $extra ]] || die "artifact(s) not in $LOCK: $extra"
}

resolve() {  # resolve DIR: Maven copies the dependencies into DIR (checksums against Central's, strict)
    command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch GATK from Maven Central (Debian: apt-get install maven)"
    mvn -B -q -C -f "$POM" dependency:copy-dependencies -DoutputDirectory="$1" >"$1.log" 2>&1 ||
        die "Maven could not resolve GATK $VERSION from Maven Central; see $1.log"
}

write_launcher() {
    mkdir -p "$BIN"
    cat >"$BIN/gatk" <<EOF
#!/usr/bin/env bash
# GATK $VERSION from Maven Central, installed by scripts/install-gatk.sh into $HOME_DIR.
# Same calling convention as GATK's own wrapper: gatk [--java-options "OPTS"] Tool args...
# The -D defaults are the wrapper's own (asynchronous writing of SAM/BAM, fast compression level).
java_opts=()
if [[ \${1:-} == --java-options ]]; then read -r -a java_opts <<<"\$2"; shift 2; fi
exec $JAVA -Dsamjdk.use_async_io_read_samtools=false -Dsamjdk.use_async_io_write_samtools=true \\
    -Dsamjdk.use_async_io_write_tribble=false -Dsamjdk.compression_level=2 "\${java_opts[@]}" \\
    -cp '$HOME_DIR/lib/*' org.broadinstitute.hellbender.Main "\$@"
EOF
    chmod +x "$BIN/gatk"
}

check_java
if [[ ${1:-} == --lock ]]; then
    tmp=$(mktemp -d)
    resolve "$tmp/lib"
    (cd "$tmp/lib" && sha256sum -- *.jar) | sed 's/ \*/  /' >"$LOCK"
    rm -rf "$tmp"
    log "wrote $LOCK ($(wc -l <"$LOCK") jars of GATK $VERSION)"
    exit 0
fi

if [[ -d $HOME_DIR/lib ]] && (verify "$HOME_DIR/lib") 2>/dev/null; then
    log "GATK $VERSION present and verified in $HOME_DIR"
else
    started=$SECONDS
    staging=$HOME_DIR.partial
    rm -rf "$staging" && mkdir -p "$staging"
    log "fetching GATK $VERSION and its dependencies from Maven Central"
    resolve "$staging/lib"
    verify "$staging/lib"
    rm -rf "$HOME_DIR" && mv "$staging" "$HOME_DIR"
    log "installed GATK $VERSION in $HOME_DIR ($(du -sh "$HOME_DIR" | cut -f1), $((SECONDS - started)) s)"
fi
write_launcher
"$BIN/gatk" --version 2>/dev/null | grep -q "GATK) v$VERSION" || die "the installed GATK does not start: run $BIN/gatk --version"
log "gatk -> $BIN/gatk"
