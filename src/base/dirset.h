/*
 * dirset.h - writing a set of files as one folder, all or nothing.
 *
 * Used wherever a command writes several files that only make sense together
 * (fetched collateral): readers see the old folder or the new one, never a mix,
 * and a failure leaves the old folder exactly as it was.
 */
#ifndef AECS_BASE_DIRSET_H
#define AECS_BASE_DIRSET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct aecs_dir_file {
    const char *name; /* a plain file name, no '/' */
    const uint8_t *data;
    size_t size;
};

/*
 * Makes `dir` hold exactly `files` (mode 0644, folder 0755): they are written
 * and synced in a fresh temporary folder beside dir, which then replaces dir
 * (an atomic exchange where the file system has one, else a move aside and
 * back on failure). An existing dir may hold only files named in `known`
 * (what such a folder can contain), so no other file is ever deleted; `what`
 * names that kind of file in the message ("collateral"). On failure nothing
 * is left behind and dir is untouched.
 */
AECS_MUST_CHECK int aecs_dir_replace(const char *dir, const struct aecs_dir_file *files,
                                     size_t count, const char *const *known, size_t known_count,
                                     const char *what);

#endif
