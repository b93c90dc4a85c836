/* The whole public libxenstat API; bindgen keeps only xenstat_* / XENSTAT_* from it. */
#include <xenstat.h>
