/* abidiff winstub: <math.h> of the UCRT (the macros and declarations CPython's headers use). */
#ifndef ABIDIFF_WINSTUB_MATH_H
#define ABIDIFF_WINSTUB_MATH_H
#define HUGE_VAL __builtin_huge_val()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)
double fabs(double x);
double floor(double x);
double ceil(double x);
double fmod(double x, double y);
double frexp(double x, int *exponent);
double ldexp(double x, int exponent);
double modf(double x, double *integer);
double pow(double x, double y);
double sqrt(double x);
double copysign(double x, double y);
double round(double x);
#endif
