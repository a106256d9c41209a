"""A pass-through file system that can turn read-only under open files.

    python3 rofs.py BACKING_DIR MOUNT_POINT FLAG_FILE

Mounts BACKING_DIR at MOUNT_POINT with FUSE (mfusepy over libfuse 3). While FLAG_FILE exists,
every operation that would change the file system fails with EROFS, including writes, syncs and
truncations through descriptors that were opened before: what a process sees when the kernel
remounts a file system read-only after an error (ext4's errors=remount-ro) or a storage volume
turns read-only under it. Removing FLAG_FILE makes it writable again.

The outage tests need this because Linux refuses `mount -o remount,ro` while the database holds
files open for writing, so the fault cannot be provoked on a real mount. Reads, locks and shared
memory maps pass through unchanged; the kernel keeps POSIX locks itself, since `lock` is not
implemented. libfuse's loop gives no hook to announce the mount, so the caller waits for it to
appear in /proc/mounts. Unmount with `umount MOUNT_POINT`; the process then exits.
"""

import errno
import os
import sys

from mfusepy import FUSE, FuseOSError, Operations

STAT_FIELDS = (
    "st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
    "st_atime_ns", "st_mtime_ns", "st_ctime_ns", "st_blocks", "st_blksize",
)
STATVFS_FIELDS = (
    "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
    "f_favail", "f_flag", "f_namemax",
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Passthrough(Operations):
    use_ns = True

    def __init__(self, root: str, flag: str) -> None:
        self.root = os.path.realpath(root)
        self.flag = os.path.abspath(flag)

    def _path(self, path: str) -> str:
        return self.root + path

    def _writable(self) -> None:
        if os.path.exists(self.flag):
            raise FuseOSError(errno.EROFS)

    # Reads.
    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self._path(path))
        attrs = {name: getattr(st, name) for name in STAT_FIELDS}
        for name in ("st_atime", "st_mtime", "st_ctime"):
            attrs[name] = attrs.pop(name + "_ns")
        return attrs

    def access(self, path, amode):
        if amode & os.W_OK and os.path.exists(self.flag):
            raise FuseOSError(errno.EROFS)
        if not os.access(self._path(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._path(path))

    def readlink(self, path):
        return os.readlink(self._path(path))

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        answer = {name: getattr(st, name) for name in STATVFS_FIELDS}
        if os.path.exists(self.flag):
            answer["f_flag"] |= os.ST_RDONLY
        return answer

    def open(self, path, flags):
        if flags & WRITE_FLAGS:
            self._writable()
        return os.open(self._path(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    # Changes: each refused while read-only.
    def create(self, path, mode, fi=None):
        self._writable()
        return os.open(self._path(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)

    def write(self, path, data, offset, fh):
        self._writable()
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        self._writable()
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._path(path), length)
        return 0

    def fsync(self, path, datasync, fh):
        self._writable()
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def fsyncdir(self, path, datasync, fh):
        self._writable()
        fd = os.open(self._path(path), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return 0

    def fallocate(self, path, mode, offset, size, fh):
        self._writable()
        os.posix_fallocate(fh, offset, size)
        return 0

    def mkdir(self, path, mode):
        self._writable()
        os.mkdir(self._path(path), mode)
        return 0

    def mknod(self, path, mode, dev):
        self._writable()
        os.mknod(self._path(path), mode, dev)
        return 0

    def unlink(self, path):
        self._writable()
        os.unlink(self._path(path))
        return 0

    def rmdir(self, path):
        self._writable()
        os.rmdir(self._path(path))
        return 0

    def rename(self, old, new):
        self._writable()
        os.rename(self._path(old), self._path(new))
        return 0

    def link(self, target, source):
        self._writable()
        os.link(self._path(source), self._path(target))
        return 0

    def symlink(self, target, source):
        self._writable()
        os.symlink(source, self._path(target))
        return 0

    def chmod(self, path, mode):
        self._writable()
        os.chmod(self._path(path), mode)
        return 0

    def chown(self, path, uid, gid):
        self._writable()
        os.chown(self._path(path), uid, gid)
        return 0

    def utimens(self, path, times=None):
        self._writable()
        os.utime(self._path(path), ns=times)
        return 0


def main() -> None:
    backing, mountpoint, flag = sys.argv[1:4]
    FUSE(Passthrough(backing, flag), mountpoint, foreground=True, nothreads=False)


if __name__ == "__main__":
    main()
