/* abidiff winstub: <errno.h> of the UCRT. */
#ifndef ABIDIFF_WINSTUB_ERRNO_H
#define ABIDIFF_WINSTUB_ERRNO_H
int *_errno(void);
#define errno (*_errno())
#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EEXIST 17
#define EINVAL 22
#define ERANGE 34
#define EDOM 33
#endif
