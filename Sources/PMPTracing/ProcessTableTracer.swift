import PMP
