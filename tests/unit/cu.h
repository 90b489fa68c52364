/* cu.h: the common main() of every CUnit test binary.
 * Each tests/unit/test_X.c defines `static CU_TestInfo tests[]` and then
 * CU_MAIN("suite name", tests) (or CU_MAIN_SUITES with several suites). */
#ifndef MS_TEST_CU_H
#define MS_TEST_CU_H
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

static inline int cu_run_suites(CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}

#define CU_MAIN_SUITES(suites) \
    int main(void) { return cu_run_suites(suites); }

#define CU_MAIN(name, tests)                                              \
    int main(void)                                                        \
    {                                                                     \
        CU_SuiteInfo suites[] = { { name, NULL, NULL, NULL, NULL, tests }, \
                                  CU_SUITE_INFO_NULL };                   \
        return cu_run_suites(suites);                                     \
    }

#endif
