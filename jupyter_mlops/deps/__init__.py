"""Dependency doctor: probe the kernel's environment, compare with what the project
declares, plan and run accelerator-safe repairs. Import the submodules you need."""
