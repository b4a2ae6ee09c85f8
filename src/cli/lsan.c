/* SPDX-License-Identifier: GPL-3.0-or-later */
/* LeakSanitizer settings for the lathe program (sanitizer builds only).
 * fontconfig (under cairo's plot text in HTML reports) leaks a little of the
 * configuration it parses once per process, unreachable from any pointer
 * (fontconfig's own allocation, not lathe's): LeakSanitizer ignores stacks
 * through it. Every command that writes a report also calls
 * lathe_report_release_caches() once at the end. */
#if defined(__SANITIZE_ADDRESS__)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
#else
typedef int lathe_lsan_unused; /* an empty translation unit is not ISO C */
#endif
