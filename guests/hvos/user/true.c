// true: exit at once with status 0 (the child the spawn workload starts).
int main(void)
{
    return 0;
}
