#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run.sh - boot a Debian kernel under qemu once per platform of persistent
# memory, make ext4 and xfs on two pmem disks (and ext4 on a third, for
# bad-block tests), mount them -o dax and run the tests named in
# tests/dax/tests.list inside.  Called by `make check-dax`
# (top_srcdir and top_builddir in the environment, DAX_PROGRAMS naming
# the build tree's programs and DAX_CHECK_TESTS the tests of make check).
#
# Exit: 0 all passed, 1 a test failed or the guest did not finish, 77 qemu
# or the kernel cannot be had here (the reason is printed).
#
# Platforms (one boot each, in this order):
#   memmap    memmap= pmem (the e820 legacy region: no persistence_domain,
#             no deep_flush)
#   nfit      an NFIT NVDIMM with label space (-device nvdimm); ndctl makes
#             three fsdax namespaces and a devdax one
#   eadr      nvdimm-persistence=cpu: persistence_domain cpu_cache
#   adr       nvdimm-persistence=mem-ctrl: memory_controller
#   cxl       a CXL type-3 device with persistent memory: cxl
#             create-region, then namespaces as on nfit
#
# Environment:
#   PM_DAX_CACHE       kernel cache (default ~/.cache/libpm-dax)
#   PM_DAX_KERNEL_DEB  use this linux-image .deb instead of apt-get download
#   PM_DAX_PLATFORMS   boot only these platforms (default: all of them)
#   PM_DAX_TESTS       run only the tests whose names match these patterns
#   PM_DAX_TIMEOUT     seconds before the guest is killed (default 1200)
#   PM_DAX_TEST_TIMEOUT  seconds one test may take in the guest (default 600)
#   PM_DAX_BZIMAGE=1   boot the compressed kernel, not the extracted vmlinux
#   QEMU               the qemu binary (default qemu-system-x86_64)
set -u
export LC_ALL=C

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-.}
srcdir=$(cd "$srcdir" && pwd)
builddir=$(cd "$builddir" && pwd)
dax=$srcdir/tests/dax
out=$builddir/tests/dax
cache=${PM_DAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libpm-dax}
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${PM_DAX_TIMEOUT:-1200}
platforms=${PM_DAX_PLATFORMS:-memmap nfit eadr adr cxl}
t_start=$(date +%s.%N)

skip() {
	echo "check-dax: SKIP: $*" >&2
	exit 77
}

die() {
	echo "check-dax: FAIL: $*" >&2
	exit 1
}

elapsed() {
	echo "$(date +%s.%N) $1" | awk '{ printf "%.1f", $1 - $2 }'
}

# ---- what the host must have ---------------------------------------------
[ "$(uname -m)" = x86_64 ] || skip "the guest is x86_64; this host is $(uname -m)"
command -v "$qemu" >/dev/null ||
	skip "$qemu not found (Debian package qemu-system-x86)"
for t in busybox:busybox-static depmod:kmod modprobe:kmod dpkg-deb:dpkg \
	ldd:libc-bin /sbin/mke2fs:e2fsprogs; do
	command -v "${t%%:*}" >/dev/null ||
		skip "${t%%:*} not found (Debian package ${t#*:})"
done
busybox=$(command -v busybox)
ldd "$busybox" >/dev/null 2>&1 &&
	skip "$busybox is dynamically linked: install busybox-static"
mkfs_xfs=$(command -v mkfs.xfs || true)

# ---- the kernel: downloaded, unpacked, the needed modules kept ------------
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

# Unpack the .deb $1 into the cache entry $2: vmlinuz, vmlinux (when the
# bzImage payload can be decompressed here), the modules and their order.
unpack_kernel() {
	local deb=$1 dst=$2 tmp kver m
	tmp=$(mktemp -d "$cache/unpack.XXXXXX") || return 1
	dpkg-deb -x "$deb" "$tmp/root" || return 1
	kver=$(find "$tmp/root/lib/modules" -mindepth 1 -maxdepth 1 \
		-printf '%f\n' | head -n1)
	depmod -b "$tmp/root" "$kver" || return 1
	mkdir -p "$tmp/entry/modules"
	cp "$tmp/root/boot/vmlinuz-$kver" "$tmp/entry/vmlinuz" || return 1
	for m in $kmods; do
		# -C: not the host's modprobe.d (ndctl's "install libnvdimm"
		# rule would hide libnvdimm.ko)
		modprobe -C /dev/null -d "$tmp/root" -S "$kver" \
			--show-depends "$m" ||
			return 1
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r m; do
			cp "$m" "$tmp/entry/modules/" || exit 1
			basename "$m"
		done >"$tmp/entry/modules.load" || return 1
	grep -q '^ext4\.ko$' "$tmp/entry/modules.load" || return 1
	echo "$kmods" >"$tmp/entry/modules.want"
	extract_vmlinux "$tmp/entry/vmlinuz" "$tmp/entry/vmlinux" ||
		rm -f "$tmp/entry/vmlinux"
	echo "$kver" >"$tmp/entry/version"
	rm -rf "$dst" && mv "$tmp/entry" "$dst"
	rm -rf "$tmp"
}

# The uncompressed ELF inside a bzImage boots faster (qemu's PVH entry).
extract_vmlinux() {
	local z=$1 elf=$2 setup off len size magic dec
	setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$z" | tr -d ' ')
	off=$(od -An -tu4 -j $((0x248)) -N4 "$z" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$z" | tr -d ' ')
	[ "$setup" = 0 ] && setup=4
	off=$(((setup + 1) * 512 + off))
	magic=$(tail -c +$((off + 1)) "$z" | head -c 6 | od -An -tx1 | tr -d ' ')
	case $magic in
	fd377a585a00) dec="xz -dc --single-stream" ;;
	1f8b*) dec="gzip -dc" ;;
	28b52ffd*) dec="zstd -dcq" ;;
	*) return 1 ;;
	esac
	command -v "${dec%% *}" >/dev/null || return 1
	tail -c +$((off + 1)) "$z" | head -c "$len" | $dec >"$elf" 2>/dev/null
	# The payload ends with the decompressed size (little-endian u32).
	size=$(tail -c +$((off + len - 3)) "$z" | head -c 4 | od -An -tu4 | tr -d ' ')
	[ "$(stat -c %s "$elf")" = "$size" ] &&
		[ "$(head -c 4 "$elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]
}

# The modules the guest loads (the cache entry is made again when this
# list changes).
kmods="nd_pmem nd_e820 nfit dax_pmem device_dax cxl_acpi cxl_pci cxl_mem"
kmods="$kmods cxl_pmem ext4 xfs"

# 0 if cache entry $1 is complete for this script.
cached() {
	[ -s "$1/version" ] && [ "$(cat "$1/modules.want" 2>/dev/null)" = "$kmods" ]
}

get_kernel() {
	local pkg deb ver dl
	mkdir -p "$cache" || skip "cannot create the cache $cache"
	if [ -n "${PM_DAX_KERNEL_DEB:-}" ]; then
		deb=$PM_DAX_KERNEL_DEB
		[ -r "$deb" ] || skip "PM_DAX_KERNEL_DEB=$deb is not readable"
		kentry=$cache/$(basename "$deb" .deb)
		cached "$kentry" || unpack_kernel "$deb" "$kentry" ||
			skip "could not unpack $deb"
		return
	fi
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		# No package lists: use what an earlier run left, if anything.
		kentry=$(find "$cache" -mindepth 1 -maxdepth 1 \
			-name 'linux-image-*' | sort | tail -n1)
		[ -n "$kentry" ] && cached "$kentry" && return
		skip "apt-cache knows no linux-image-amd64 (run apt-get update)"
	fi
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	kentry=$cache/${pkg}_$ver
	cached "$kentry" && return
	echo "check-dax: fetching $pkg $ver (once; cached in $cache)"
	dl=$(mktemp -d "$cache/dl.XXXXXX") || skip "cannot write $cache"
	(cd "$dl" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
		{ rm -rf "$dl"; skip "apt-get download $pkg=$ver failed"; }
	deb=$(ls "$dl"/*.deb)
	unpack_kernel "$deb" "$kentry" ||
		{ rm -rf "$dl"; skip "could not unpack $deb"; }
	rm -rf "$dl"
}

# ---- the initramfs ---------------------------------------------------------
# Copy host file $1 to the same path in the image (following links).
put() {
	local dst=$root$1
	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")" && cp -L "$1" "$dst"
}

# The shared libraries an ELF file needs; the build tree's own libraries
# go to /usr/local/lib in the image.
put_libs() {
	local lib
	LD_LIBRARY_PATH=$builddir/.libs ldd "$1" 2>/dev/null |
		awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
			case $lib in
			"$builddir"/*)
				mkdir -p "$root/usr/local/lib"
				cp -L "$lib" "$root/usr/local/lib/" ;;
			*) put "$lib" ;;
			esac
		done
}

put_exe() {
	put "$1" && put_libs "$1"
}

# A libtool-built program: its real binary, under the program's own path.
put_program() {
	local prog=$1 real=$builddir/$1
	if grep -q 'libtool wrapper' "$real" 2>/dev/null; then
		real=$builddir/$(dirname "$prog")/.libs/$(basename "$prog")
		[ -x "$real" ] ||
			real=$builddir/$(dirname "$prog")/.libs/lt-$(basename "$prog")
	fi
	[ -x "$real" ] || die "$prog is not built (run make check-dax)"
	mkdir -p "$root/build/$(dirname "$prog")"
	cp "$real" "$root/build/$prog" && put_libs "$real"
}

make_initramfs() {
	local p
	root=$work/root
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,etc/dax,lib/modules} \
		"$root"/{usr/bin,usr/sbin,usr/local/lib,build,src/tests}
	cp "$busybox" "$root/bin/busybox"
	for p in $("$busybox" --list); do
		[ -e "$root/bin/$p" ] || ln -s busybox "$root/bin/$p"
	done
	cp "$kentry"/modules/*.ko "$root/lib/modules/"
	cp "$kentry/modules.load" "$root/etc/dax/modules"
	put_exe "$(command -v mke2fs)"
	[ -n "$mkfs_xfs" ] && put_exe "$mkfs_xfs"
	# ndctl and cxl (Debian package ndctl) make the namespaces and CXL
	# regions of the NFIT and CXL platforms.
	for p in ndctl cxl; do
		[ "$platforms" = memmap ] && break
		p=$(command -v "$p") ||
			die "ndctl not found (Debian package ndctl): the platforms" \
				"$platforms need it; PM_DAX_PLATFORMS=memmap runs without"
		put_exe "$p"
	done
	# pmck_lib.sh compares pool files with cksum, which busybox lacks.
	p=$(command -v cksum) && put_exe "$p"
	# Shell tests run as make check runs them: with $(SHELL), bash.
	guest_sh="sh"
	if [ -x /bin/bash ]; then
		put_exe /bin/bash
		guest_sh=bash
	fi
	for p in ${DAX_PROGRAMS:-}; do
		put_program "$p" || exit 1
	done
	# Shell tests and data from the source tree, read-only in spirit.
	(cd "$srcdir" && find tests \( -name '*.sh' -o -name '*.list' \) \
		-exec cp --parents -t "$root/src" {} +) ||
		die "cannot copy the test scripts"
	cp "$dax/init" "$root/init" && chmod +x "$root/init"
	select_tests >"$root/etc/dax/tests.list" || exit 1
	[ -s "$root/etc/dax/tests.list" ] || die "no test matches PM_DAX_TESTS"
	echo "test_timeout=${PM_DAX_TEST_TIMEOUT:-600}" >"$root/etc/dax/config"
	(cd "$root" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null) \
		>"$work/initrd" || die "cannot write the initramfs"
}

# 0 if test $1 is selected by PM_DAX_TESTS (all are when it is empty).
selected() {
	local pat
	[ -z "${PM_DAX_TESTS:-}" ] && return 0
	for pat in $PM_DAX_TESTS; do
		# shellcheck disable=SC2254
		case $1 in $pat) return 0 ;; esac
	done
	return 1
}

# The platforms a tests.list line runs on: its leading @LIST, or those
# with fsdax file systems.
fsdax_platforms="memmap nfit cxl"

# tests.list without comments and exclusions ("!NAME", "!NAME@PLATFORM"),
# "@check" expanded to one line per test of make check (DAX_CHECK_TESTS),
# filtered by PM_DAX_TESTS; each
# line "PLATFORM NAME COMMAND" for each platform booted that it runs on.
select_tests() {
	local name cmd t n list skip plats p
	list=$(sed -e 's/^[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' \
		"$dax/tests.list")
	skip=$(printf '%s\n' "$list" | sed -n 's/^!\([^[:space:]]*\).*/\1/p')
	printf '%s\n' "$list" | while read -r name cmd; do
		plats=$fsdax_platforms
		case $name in
		@check) ;;
		@*)
			plats=$(echo "${name#@}" | tr ',' ' ')
			name=${cmd%%[[:space:]]*}
			cmd=${cmd#"$name"}
			cmd=${cmd#"${cmd%%[![:space:]]*}"} ;;
		esac
		for p in $plats; do
			case " $platforms " in *" $p "*) ;; *) continue ;; esac
			case $name in
			!*) ;;
			@check)
				for t in ${DAX_CHECK_TESTS:-}; do
					n=${t##*/}
					n=${n%.sh}
					printf '%s\n' "$skip" |
						grep -qxF -e "$n" -e "$n@$p" &&
						continue
					selected "$n" || continue
					case $t in
					*.sh) echo "$p $n $guest_sh \$top_srcdir/$t" ;;
					*) echo "$p $n $t" ;;
					esac
				done ;;
			*)
				if selected "$name"; then
					printf '%s %s %s\n' "$p" "$name" "$cmd"
				fi ;;
			esac
		done
	done
}

# ---- boot and collect ------------------------------------------------------
# A sparse file backing guest memory: $1 its name in $work, $2 its size.
backing() {
	truncate -s "$2" "$work/$1" && echo "$work/$1"
}

# The qemu arguments of platform $1 in $qargs, kernel command line extras
# in $append.
platform_args() {
	local nv mem lsa
	append=
	qargs=
	case $1 in
	memmap)
		# Emulated pmem, told apart by size in the guest: 512 MiB at
		# 1 GiB (ext4), 384 MiB at 1.5 GiB (xfs), 128 MiB at 2 GiB
		# (ext4 for bad blocks).  1.375 GiB stay RAM.
		append="memmap=512M!1G memmap=384M!1536M memmap=128M!2G"
		qargs="-m 2560M" ;;
	nfit | eadr | adr)
		# One NVDIMM with a label area; ndctl makes the namespaces.
		local persist="" size=1536M
		[ "$1" = eadr ] && persist=,nvdimm-persistence=cpu
		[ "$1" = adr ] && persist=,nvdimm-persistence=mem-ctrl
		[ "$1" = nfit ] || size=512M
		qargs="-machine pc,nvdimm=on$persist -m 2G,slots=2,maxmem=8G"
		nv=$(backing nvdimm.img "$size") || return 1
		qargs="$qargs -object memory-backend-file,id=nv0,share=on,mem-path=$nv,size=$size"
		qargs="$qargs -device nvdimm,id=nvdimm0,memdev=nv0,label-size=128K" ;;
	cxl)
		# A type-3 device with persistent memory behind a CXL host
		# bridge; the second, empty root port lets cxl create-region
		# find its way (qemu 7.2).
		mem=$(backing cxl-mem.img 1536M) || return 1
		lsa=$(backing cxl-lsa.img 1M) || return 1
		qargs="-machine q35,cxl=on -m 2G,slots=2,maxmem=8G"
		qargs="$qargs -object memory-backend-file,id=cxl-mem0,share=on,mem-path=$mem,size=1536M"
		qargs="$qargs -object memory-backend-file,id=cxl-lsa0,share=on,mem-path=$lsa,size=1M"
		qargs="$qargs -device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1"
		qargs="$qargs -device cxl-rp,port=0,bus=cxl.1,id=rp0,chassis=0,slot=2"
		qargs="$qargs -device cxl-rp,port=1,bus=cxl.1,id=rp1,chassis=0,slot=3"
		qargs="$qargs -device cxl-type3,bus=rp0,memdev=cxl-mem0,lsa=cxl-lsa0,id=cxl-pmem0"
		qargs="$qargs -machine cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G" ;;
	*) return 1 ;;
	esac
}

# Boot platform $1; its results in $work/result.$1.
boot() {
	local plat=$1 kernel=$kentry/vmlinux
	[ -s "$kernel" ] && [ "${PM_DAX_BZIMAGE:-0}" != 1 ] ||
		kernel=$kentry/vmlinuz
	: >"$out/console.$plat.log"
	: >"$work/result.$plat"
	platform_args "$plat" || die "cannot set up platform $plat"
	# shellcheck disable=SC2086 # $qargs: words of qemu arguments
	timeout -k 5 "$timeout_s" "$qemu" -accel tcg -cpu max -smp 1 $qargs \
		-nodefaults -no-user-config -display none -monitor none \
		-no-reboot -serial "file:$out/console.$plat.log" \
		-serial "file:$work/result.$plat" \
		-kernel "$kernel" -initrd "$work/initrd" \
		-append "console=ttyS0 $append pmdax.platform=$plat panic=-1 quiet" \
		</dev/null >"$work/qemu.$plat.out" 2>&1
	qemu_rc=$?
	rm -f "$work"/*.img
}

# Print each test's output and verdict (named PLATFORM/TEST) for platform
# $1; the last line counts them.  Exit status for that boot.
report() {
	awk -v plat="$1" '
	/^@@DAX begin / { name = $3; body = ""; next }
	/^@@DAX end / {
		rc = $4
		if (rc == 0) { verdict = "PASS"; pass++ }
		else if (rc == 77) { verdict = "SKIP"; skip++ }
		else { verdict = "FAIL"; fail++ }
		printf "%s: %s/%s (%s s%s)\n", verdict, plat, $3, $5,
			rc == 0 || rc == 77 ? "" : ", exit " rc
		n = split(body, lines, "\n")
		for (i = 1; i < n; i++) print "    " lines[i]
		body = ""; name = ""; next
	}
	/^@@DAX fatal / { sub(/^@@DAX fatal /, ""); print "FATAL (" plat " guest): " $0; fatal++; next }
	/^@@DAX info / { sub(/^@@DAX info /, ""); print "# " plat ": " $0; next }
	/^@@DAX done/ { done = 1; next }
	{ if (name != "") body = body $0 "\n"; else print "# " $0 }
	END {
		if (name != "") {
			printf "FAIL: %s/%s (guest stopped inside it)\n", plat, name
			n = split(body, lines, "\n")
			for (i = 1; i < n; i++) print "    " lines[i]
			fail++
		}
		if (!done) print "# " plat ": the guest did not finish"
		printf "@counts %d %d %d\n", pass, fail, skip
		if (!done || fatal || fail || pass == 0) exit 1
		exit 0
	}' "$work/result.$1"
}

# Boot platform $1 and report; 0 if all its tests passed.
run_platform() {
	local plat=$1 t0 rc counts
	t0=$(date +%s.%N)
	boot "$plat"
	tr -d '\r' <"$work/result.$plat" >"$work/result.txt" &&
		mv "$work/result.txt" "$work/result.$plat"
	report "$plat" >"$work/report.$plat"
	rc=$?
	grep -v '^@counts ' "$work/report.$plat"
	counts=$(sed -n 's/^@counts //p' "$work/report.$plat")
	# shellcheck disable=SC2086 # "PASS FAIL SKIP"
	set -- $counts
	echo "# $plat: booted in $(elapsed "$t0") s ($1 passed, $2 failed, $3 skipped)"
	if [ "$rc" != 0 ]; then
		[ "$qemu_rc" = 124 ] && echo "check-dax: $plat: qemu killed after ${timeout_s} s"
		[ -s "$work/qemu.$plat.out" ] && sed "s/^/qemu ($plat): /" "$work/qemu.$plat.out"
		echo "check-dax: $plat: last console lines ($out/console.$plat.log):"
		tail -n 40 "$out/console.$plat.log" | tr -d '\r' | sed 's/^/    /'
	fi
	return "$rc"
}

main() {
	local p
	get_kernel
	echo "check-dax: kernel $(cat "$kentry/version") from $kentry"
	work=$out/work
	rm -rf "$work"
	mkdir -p "$work" || die "cannot create $work"
	make_initramfs
	echo "check-dax: initramfs $(($(stat -c %s "$work/initrd") / 1048576)) MiB" \
		"built in $(elapsed "$t_start") s; booting qemu (TCG):$platforms"
	for p in $platforms; do
		run_platform "$p"
	done 2>&1 | tee "$out/check-dax.log"
	# the loop ran in a subshell (the pipe): its totals come from the log
	{
		echo "# check-dax: $(grep -c '^PASS: ' "$out/check-dax.log") passed," \
			"$(grep -c -E '^FAIL: ' "$out/check-dax.log") failed," \
			"$(grep -c '^SKIP: ' "$out/check-dax.log") skipped"
		sed -n 's/^# \([a-z]*\): booted in \(.*\)$/# \1: \2/p' "$out/check-dax.log"
		echo "check-dax: total $(elapsed "$t_start") s"
	} | tee -a "$out/check-dax.log"
	if grep -q -E '^(FAIL|FATAL)|did not finish|^check-dax: .*: last console' \
		"$out/check-dax.log" || ! grep -q '^PASS: ' "$out/check-dax.log"; then
		return 1
	fi
	rm -rf "$work"
}

main
