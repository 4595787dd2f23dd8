"""Hand-built snapshots for rendering tests. SYNTHETIC: typed in, not taken on a machine.

The GPU values follow NVIDIA's published H100 SXM5 80GB figures (80 GiB HBM3, compute
capability 9.0, 700 W); the TensorFlow build facts are those of the tensorflow 2.21.0 wheel's
build_info.py as listed in ../shared/reference/compat.md.
"""

from __future__ import annotations

from envkit.model import (
    CondaEnv,
    CondaInfo,
    CpuInfo,
    DiskInfo,
    Distribution,
    GpuInfo,
    GpuProcess,
    MemoryInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PciGpu,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
    VisibleDevices,
)

GIB = 1024**3


def synthetic_gpu_workstation() -> Snapshot:
    return Snapshot(
        schema_version="2",
        envkit_version="0.1.0",
        taken_at="2026-11-25T12:00:00+00:00",
        os=OsInfo(
            system="Linux",
            distro_id="ubuntu",
            distro_version="22.04",
            distro_pretty_name="Ubuntu 22.04.4 LTS",
            kernel_release="6.5.0-41-generic",
            architecture="x86_64",
            glibc_version="2.35",
            wsl_version=None,
            container=None,
            virtualization=None,
            secure_boot=True,
            hostname="gpu-box",
        ),
        cpu=CpuInfo(
            model_name="AMD EPYC 9454 48-Core Processor",
            physical_cores=48,
            logical_cores=96,
            tensorflow_flags=("avx", "avx2", "fma", "avx512f"),
            flags_known=True,
        ),
        memory=MemoryInfo(
            total_bytes=512 * GIB,
            available_bytes=480 * GIB,
            swap_total_bytes=0,
            swap_free_bytes=0,
        ),
        disks=(DiskInfo("home", "/home/ada", 1800 * GIB, 900 * GIB),),
        nvidia_kernel=NvidiaKernelInfo(
            module_version="550.54.15",
            module_version_line="NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15",
            nvidia_module_loaded=True,
            nouveau_loaded=False,
            device_nodes=("nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"),
            uvm_present=True,
            pci_gpus=(
                PciGpu("0000:18:00.0", "0x2330", "nvidia"),
                PciGpu("0000:2a:00.0", "0x2330", "nvidia"),
            ),
            nvml_library_paths=("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",),
        ),
        nvml=NvmlInfo(
            driver_version="550.54.15",
            cuda_driver_version="12.4",
            nvml_version="12.550.54.15",
            gpus=(
                GpuInfo(
                    index=0,
                    name="NVIDIA H100 80GB HBM3",
                    uuid="GPU-00000000-1111-2222-3333-444444444444",
                    pci_bus_id="00000000:18:00.0",
                    memory_total_bytes=80 * GIB,
                    memory_used_bytes=GIB // 2,
                    compute_capability="9.0",
                    persistence_mode=True,
                    mig_mode_current=False,
                    mig_mode_pending=False,
                    power_limit_watts=700.0,
                    temperature_c=31,
                    processes=(GpuProcess(pid=4242, used_memory_bytes=GIB // 2, kind="compute"),),
                    utilization_gpu_percent=87,
                    power_draw_watts=612.4,
                ),
                GpuInfo(
                    index=1,
                    error=Unavailable("nvml-gpu-lost", "GPU 1 has fallen off the bus."),
                ),
            ),
        ),
        cuda_visible_devices=VisibleDevices(
            raw="0,7",
            entries=("0", "7"),
            visible_gpu_indices=(0,),
            unmatched=("7",),
            hides_all=False,
        ),
        python=PythonEnvInfo(
            executable="/home/ada/miniconda3/envs/tf/bin/python",
            version="3.12.4",
            implementation="CPython",
            prefix="/home/ada/miniconda3/envs/tf",
            base_prefix="/home/ada/miniconda3/envs/tf",
            kind="conda-env",
            conda_env_name="tf",
            platform_tag="linux-x86_64",
            pip_on_path="/home/ada/miniconda3/envs/tf/bin/pip",
            pip_on_path_python="/home/ada/miniconda3/envs/tf/bin/python",
            distributions=(
                Distribution("keras", "3.12.0"),
                Distribution("numpy", "2.1.3"),
                Distribution("nvidia-cublas-cu12", "12.5.3.2"),
                Distribution("tensorflow", "2.21.0"),
            ),
            environment=(("CUDA_VISIBLE_DEVICES", "0,7"),),
        ),
        tensorflow=TensorflowInfo(
            distributions=(Distribution("tensorflow", "2.21.0"),),
            version="2.21.0",
            package_path="/home/ada/miniconda3/envs/tf/lib/python3.12/site-packages/tensorflow",
            requirements=(
                "keras>=3.12.0",
                'nvidia-cublas-cu12<13.0,>=12.5.3.2; extra == "and-cuda"',
            ),
            build=TensorflowBuild(
                source_file="/home/ada/miniconda3/envs/tf/lib/python3.12/site-packages/"
                "tensorflow/python/platform/build_info.py",
                is_cuda_build=True,
                is_rocm_build=False,
                cuda_version="12.5.1",
                cudnn_version="9",
                cuda_compute_capabilities=("sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
                raw=(("cuda_version", "'12.5.1'"), ("cudnn_version", "'9'")),
            ),
        ),
        conda=CondaInfo(
            executable="/home/ada/miniconda3/bin/conda",
            found_via="CONDA_EXE",
            version="24.7.1",
            root_prefix="/home/ada/miniconda3",
            active_env_name="tf",
            environments=(
                CondaEnv("base", "/home/ada/miniconda3"),
                CondaEnv("tf", "/home/ada/miniconda3/envs/tf"),
            ),
            environments_source="conda-env-list",
        ),
    )
