/* abidiff winstub: <time.h> of the UCRT: time_t is 64 bits. */
#ifndef ABIDIFF_WINSTUB_TIME_H
#define ABIDIFF_WINSTUB_TIME_H
#include <stddef.h>
typedef long long time_t;
typedef long clock_t;
struct tm {
    int tm_sec;
    int tm_min;
    int tm_hour;
    int tm_mday;
    int tm_mon;
    int tm_year;
    int tm_wday;
    int tm_yday;
    int tm_isdst;
};
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};
#define CLOCKS_PER_SEC ((clock_t)1000)
time_t time(time_t *when);
clock_t clock(void);
#endif
