/*
 * dirset.c - all-or-nothing folder writes; see dirset.h.
 */
#include "base/dirset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

struct names {
    const char *const *known;
    size_t count;
};

static int is_known(const struct names *n, const char *name)
{
    for (size_t i = 0; i < n->count; i++) {
        if (strcmp(name, n->known[i]) == 0)
            return 1;
    }
    return 0;
}

/* An existing folder may be replaced only when it holds nothing but known files. */
static int check_replaceable(const char *dir, const struct names *n, const char *what)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = AECS_OK;

    ENSURE(d != NULL, AECS_E_IO, "cannot open the folder %.200s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!is_known(n, e->d_name)) {
            rc = AECS_ERR(AECS_E_USAGE,
                          "%.200s holds '%.80s', which is not a %s file: refusing to replace "
                          "the folder (choose a new or empty folder)",
                          dir, e->d_name, what);
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Removes the known files of a folder, then the folder; best effort. */
static void remove_set(const char *dir, const struct names *n)
{
    char path[4400];

    for (size_t i = 0; i < n->count; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, n->known[i]);
        (void)unlink(path);
    }
    if (rmdir(dir) != 0)
        log_warn("could not remove the folder %.200s: %s", dir, strerror(errno));
}

static int write_new_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = AECS_OK;

    ENSURE(fd >= 0, AECS_E_IO, "cannot create %.200s: %s", path, strerror(errno));
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        ENSURE_OUT(w > 0, AECS_E_IO, "cannot write %.200s: %s", path, strerror(errno));
        done += (size_t)w;
    }
    ENSURE_OUT(fsync(fd) == 0, AECS_E_IO, "cannot sync %.200s: %s", path, strerror(errno));
out:
    if (close(fd) != 0 && rc == AECS_OK)
        rc = AECS_ERR(AECS_E_IO, "cannot close %.200s: %s", path, strerror(errno));
    return rc;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int aecs_dir_replace(const char *dir_in, const struct aecs_dir_file *files, size_t count,
                     const char *const *known, size_t known_count, const char *what)
{
    int rc = AECS_OK;
    const struct names n = {known, known_count};
    char dir[4096];
    char tmp[4096];
    char old[4200];
    char parent[4096];
    char path[4400];
    int tmp_made = 0;
    int exists = 0;
    struct stat st;

    ENSURE(dir_in != NULL && dir_in[0] != '\0', AECS_E_INVALID_ARGUMENT, "no folder given");
    ENSURE(strlen(dir_in) + 32 < sizeof(dir), AECS_E_INVALID_ARGUMENT, "path too long: %.100s",
           dir_in);
    snprintf(dir, sizeof(dir), "%s", dir_in);
    for (size_t len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
        dir[len - 1] = '\0';
    for (size_t i = 0; i < count; i++)
        ENSURE(is_known(&n, files[i].name) && strchr(files[i].name, '/') == NULL,
               AECS_E_INVALID_ARGUMENT, "'%.80s' is not a %s file name", files[i].name, what);

    if (lstat(dir, &st) == 0) {
        ENSURE(S_ISDIR(st.st_mode), AECS_E_USAGE, "%.200s exists and is not a folder", dir);
        GUARD(check_replaceable(dir, &n, what));
        exists = 1;
    } else {
        ENSURE(errno == ENOENT, AECS_E_IO, "cannot look at %.200s: %s", dir, strerror(errno));
    }

    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dir);
    ENSURE(mkdtemp(tmp) != NULL, AECS_E_IO, "cannot create a temporary folder beside %.200s: %s",
           dir, strerror(errno));
    tmp_made = 1;
    ENSURE_OUT(chmod(tmp, 0755) == 0, AECS_E_IO, "cannot set the mode of %.200s: %s", tmp,
               strerror(errno));
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "%s/%s", tmp, files[i].name);
        GUARD_OUT(write_new_file(path, files[i].data, files[i].size));
    }
    sync_dir(tmp);

    if (!exists) {
        ENSURE_OUT(rename(tmp, dir) == 0, AECS_E_IO, "cannot rename %.200s to %.200s: %s", tmp,
                   dir, strerror(errno));
        tmp_made = 0;
    } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_set(tmp, &n); /* tmp now names the old folder */
        tmp_made = 0;
    } else {
        /* No atomic exchange on this file system: move the old folder aside first. */
        ENSURE_OUT(errno == EINVAL || errno == ENOSYS || errno == ENOTSUP, AECS_E_IO,
                   "cannot swap %.200s into %.200s: %s", tmp, dir, strerror(errno));
        snprintf(old, sizeof(old), "%s.old", tmp);
        ENSURE_OUT(rename(dir, old) == 0, AECS_E_IO, "cannot move %.200s aside: %s", dir,
                   strerror(errno));
        if (rename(tmp, dir) != 0) {
            int e = errno;
            (void)rename(old, dir);
            BAIL_OUT(AECS_E_IO, "cannot rename %.200s to %.200s: %s", tmp, dir, strerror(e));
        }
        tmp_made = 0;
        remove_set(old, &n);
    }
    snprintf(parent, sizeof(parent), "%s", dir);
    sync_dir(dirname(parent));
out:
    if (tmp_made)
        remove_set(tmp, &n);
    return rc;
}
