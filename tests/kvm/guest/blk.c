void guest_main(int id) { (void)id; }
