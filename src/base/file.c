/*
 * file.c - see file.h.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int aecs_file_read(const char *path, size_t max_size, uint8_t **data, size_t *size)
{
    int rc = AECS_OK;
    int fd = -1;
    uint8_t *buf = NULL;
    struct stat st;
    size_t got = 0;

    *data = NULL;
    *size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        BAIL_OUT(errno == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO, "cannot open %s: %s", path,
                 strerror(errno));
    }
    ENSURE_OUT(fstat(fd, &st) == 0, AECS_E_IO, "cannot stat %s: %s", path, strerror(errno));
    ENSURE_OUT(!S_ISDIR(st.st_mode), AECS_E_IO, "%s is a directory, not a file", path);
    /* Regular files are read to their size; others (pipes, /dev) until EOF up to the cap. */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size : max_size;
    ENSURE_OUT(cap <= max_size, AECS_E_TOO_LARGE, "%s is too large (%zu bytes, at most %zu)", path,
               cap, max_size);
    buf = malloc(cap + 1);
    ENSURE_OUT(buf != NULL, AECS_E_NO_MEMORY, "out of memory reading %s", path);
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        ENSURE_OUT(n >= 0, AECS_E_IO, "cannot read %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *size = got;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int aecs_file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int aecs_file_find_program(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096];

    snprintf(dirs, sizeof(dirs), "%s", path != NULL && path[0] ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d != NULL;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, size, "%s/%s", d, name);
        if (access(buf, X_OK) == 0)
            return 1;
    }
    return 0;
}

int aecs_file_write_atomic(const char *path, const void *data, size_t size, unsigned mode)
{
    int rc = AECS_OK;
    int fd = -1;
    char tmp[4096];
    char dir[4096];
    const uint8_t *p = data;
    int tmp_made = 0;

    ENSURE(strlen(path) + 16 < sizeof(tmp), AECS_E_INVALID_ARGUMENT, "path too long: %.100s",
           path);
    snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    ENSURE_OUT(fd >= 0, AECS_E_IO, "cannot create a temporary file beside %s: %s", path,
               strerror(errno));
    tmp_made = 1;
    ENSURE_OUT(fchmod(fd, (mode_t)mode) == 0, AECS_E_IO, "cannot set the mode of %s: %s", tmp,
               strerror(errno));
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, p + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        ENSURE_OUT(n > 0, AECS_E_IO, "cannot write %s: %s", tmp, strerror(errno));
        done += (size_t)n;
    }
    ENSURE_OUT(fsync(fd) == 0, AECS_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    ENSURE_OUT(close(fd) == 0, AECS_E_IO, "cannot close %s: %s", tmp, strerror(errno));
    fd = -1;
    ENSURE_OUT(rename(tmp, path) == 0, AECS_E_IO, "cannot rename %s to %s: %s", tmp, path,
               strerror(errno));
    tmp_made = 0;
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    return rc;
}
